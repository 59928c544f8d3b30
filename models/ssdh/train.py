"""Train SSDH, export it to ONNX with the hamdb contract, check it, and evaluate it.

    python -m models.ssdh.train --bits 48 --out models/reference/ssdh-fmnist-48.onnx

Writes next to the model: <stem>.train.json (settings, per-epoch log, timing, export check) and,
unless --no-eval, <stem>.eval.json (retrieval metrics of the exported file)."""
from __future__ import annotations

import json
import os
import platform
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from .contract import build_metadata
from .data import load_fmnist, load_folder, validation_dataset
from .export import check, compare_with_torch, export_onnx
from .loss import ssdh_loss
from .net import SSDH
from .options import parse_args
from .preprocess import PreprocessSpec


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def augment(x: torch.Tensor, gen: torch.Generator, pad: int, hflip: bool, fill: float) -> torch.Tensor:
    """Random translation by up to `pad` pixels (pad with background, crop back) and horizontal
    flip, done for a whole batch at once. Training only: inference preprocessing stays the plain
    contract pipeline."""
    n, c, h, w = x.shape
    if pad:
        xp = F.pad(x, (pad, pad, pad, pad), value=fill)
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        rows = (oy[:, None] + torch.arange(h))[:, :, None]          # [n, h, 1]
        cols = (ox[:, None] + torch.arange(w))[:, None, :]          # [n, 1, w]
        x = xp[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
    if hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x.contiguous()


@torch.no_grad()
def accuracy(model, x: np.ndarray, y: np.ndarray, device, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for s in range(0, len(x), batch):
        _, logits = model(torch.from_numpy(x[s:s + batch]).to(device))
        correct += int((logits.argmax(1).cpu().numpy() == y[s:s + batch]).sum())
    return correct / len(x)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    stem = os.path.splitext(args.out)[0]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    if args.data == "fmnist":
        ds = load_fmnist()
    else:
        mean = (0.5,) if args.color_mode == "L" else (0.5, 0.5, 0.5)
        std = (0.25,) if args.color_mode == "L" else (0.25, 0.25, 0.25)
        spec = PreprocessSpec(args.size, args.size, args.color_mode, "bilinear-aa", mean, std)
        ds = load_folder(args.data, spec)
        # Per-channel statistics of this training set replace the placeholders; the data was
        # normalised with the placeholders, so undo and redo rather than load twice.
        raw = ds.train.x * np.array(std, np.float32)[:, None, None] + np.array(mean, np.float32)[:, None, None]
        m = tuple(round(float(v), 4) for v in raw.mean((0, 2, 3)))
        s = tuple(round(float(v), 4) for v in raw.std((0, 2, 3)))
        for split in (ds.train, ds.test):
            split.x = (((split.x * np.array(std, np.float32)[:, None, None] + np.array(mean, np.float32)[:, None, None])
                        - np.array(m, np.float32)[:, None, None]) / np.array(s, np.float32)[:, None, None]).astype(np.float32)
        ds.spec = spec = PreprocessSpec(args.size, args.size, args.color_mode, "bilinear-aa", m, s)
    spec = ds.spec
    # Validation: held out of training; the per-epoch log and model selection read it, never
    # the test split (which --eval test evaluates once, for a shipped model).
    vds = validation_dataset(ds, args.val_size, args.split_seed) if args.val_size else None
    xtr, ytr = (vds.train.x, vds.train.y) if vds else (ds.train.x, ds.train.y)
    watch = vds.test if vds else ds.test
    watch_name = "val_accuracy" if vds else "test_accuracy"
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    if args.eval_limit:
        ds.train.x, ds.train.y = ds.train.x[:args.eval_limit], ds.train.y[:args.eval_limit]
        ds.test.x, ds.test.y = ds.test.x[:args.eval_limit], ds.test.y[:args.eval_limit]

    model = SSDH(args.bits, len(ds.classes), spec.channels, spec.height, spec.width, args.backbone).to(device)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True))
    model = model.to(memory_format=torch.channels_last)  # ~1.4x faster convolutions on CPU
    steps_per_epoch = (len(xtr) + args.batch_size - 1) // args.batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    # --epochs 0 with --init exports (and evaluates) a checkpoint as it is: a first stage's
    # weights on their own, for the comparison with what a later stage adds.
    if args.epochs == 0 and not args.init:
        raise SystemExit("--epochs 0 needs --init (there is nothing to export otherwise)")
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch) if args.epochs else None
    gen = torch.Generator().manual_seed(args.seed)
    fill = float(-np.array(spec.mean)[0] / np.array(spec.std)[0])  # a black pixel, normalised
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)

    log = {"settings": {**vars(args), "device": str(device), "torch": torch.__version__,
                        "python": platform.python_version(), "params": sum(p.numel() for p in model.parameters()),
                        "train_images": int(len(xtr)),
                        "validation": vds.name if vds else None, "backbone_note": "compact CNN from scratch (no pretrained weights)",
                        "optimizer": "AdamW + OneCycleLR", "preprocess": spec.__dict__ | {"mean": list(spec.mean), "std": list(spec.std)}},
           "epochs": []}
    print(json.dumps(log["settings"]), flush=True)
    t_start = time.time()
    for epoch in range(args.epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(xtr_t), generator=gen)
        sums = {"loss": 0.0, "ce": 0.0, "binarize": 0.0, "balance": 0.0}
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size:(i + 1) * args.batch_size]
            clean = epoch >= args.epochs - args.clean_epochs
            xb = xtr_t[idx] if clean else augment(xtr_t[idx], gen, args.pad, not args.no_hflip, fill)
            xb = xb.to(device).contiguous(memory_format=torch.channels_last)
            latent, logits = model(xb)
            loss, parts = ssdh_loss(latent, logits, ytr_t[idx].to(device), args.alpha, args.beta)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            sums["loss"] += loss.item()
            for k, v in parts.items():
                sums[k] += v
        rec = {"epoch": epoch + 1, **{k: round(v / steps_per_epoch, 5) for k, v in sums.items()},
               watch_name: accuracy(model, watch.x, watch.y, device),
               "seconds": round(time.time() - t0, 1)}
        log["epochs"].append(rec)
        print(json.dumps(rec), flush=True)
    log["train_seconds"] = round(time.time() - t_start, 1)

    if args.epochs:  # (an export-only run leaves its --init checkpoint as it is)
        ckpt = args.checkpoint or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.out))),
                                               "runs", os.path.basename(stem) + ".pt")
        os.makedirs(os.path.dirname(ckpt), exist_ok=True)
        torch.save(model.state_dict(), ckpt)

    model = model.cpu().to(memory_format=torch.contiguous_format).eval()
    meta = build_metadata(code_bits=args.bits, class_names=ds.classes, height=spec.height, width=spec.width,
                          color_mode=spec.color_mode, mean=spec.mean, std=spec.std,
                          model_name=args.name or os.path.basename(stem), model_version=args.model_version)
    export_onnx(model, args.out, meta, spec.channels, spec.height, spec.width)
    check(args.out)
    log["export"] = {"path": args.out, "bytes": os.path.getsize(args.out), "metadata": meta,
                     **compare_with_torch(model, args.out, ds.test.x[:2000])}
    print(json.dumps(log["export"]), flush=True)
    with open(stem + ".train.json", "w") as f:
        json.dump(log, f, indent=1)

    what = "none" if args.no_eval else args.eval
    command = "python -m models.ssdh.train " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    from .evaluate import evaluate_model, summary
    if what in ("val", "both") and vds:
        res = evaluate_model(args.out, vds)
        res["command"] = command
        res["split"] = "validation"
        with open(stem + ".val.json", "w") as f:
            json.dump(res, f, indent=1)
        print(json.dumps({"validation": summary(res)}), flush=True)
    if what in ("test", "both"):
        res = evaluate_model(args.out, ds)
        res["command"] = command
        res["split"] = "test"
        with open(stem + ".eval.json", "w") as f:
            json.dump(res, f, indent=1)
        print(json.dumps({"test": summary(res)}), flush=True)
    return log


if __name__ == "__main__":
    main()

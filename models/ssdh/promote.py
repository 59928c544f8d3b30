"""Ship a model chosen on validation: re-export a validation run's final weights under the
shipped name and version, then evaluate it on the test split -- once.

    python -m models.ssdh.promote --run r48-s0 --model-version 2.0.0 \\
        --out models/reference/ssdh-fmnist-48.onnx

The run is `models/validation/<run>.train.json` (its settings) with its weights in
`models/runs/<run>.pt` (the trainer's final checkpoint). The weights are not trained again: the
shipped file computes exactly the codes the validation numbers were measured with (checked
against `models/runs/val-<run>.onnx` when that export is still there), only its metadata
(model name, version) differ. Writes next to --out: <stem>.train.json (the run's settings and
per-epoch logs, with where it came from) and <stem>.eval.json (test numbers).

`--eval-only` evaluates a validation run's export on the test split without shipping it (the
3-seed spread of the chosen recipe): `--run r48-s1 --eval-only --out models/validation/r48-s1.eval.json`.
When that export is gone (models/runs/ is not committed and does not survive a machine), it is
exported again from the run's final checkpoint, the same weights.

The final checkpoint is looked up in models/runs/<run>.pt (where the trainer leaves it), then in
models/checkpoints/<run>.pt: copy it there and commit it for every run that is tested or shipped,
so its test numbers can be reproduced on another machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from .samples import ROOT

VAL = os.path.join(ROOT, "models", "validation")
RUNS = os.path.join(ROOT, "models", "runs")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="name of a validation run (models/validation/<run>.val.json)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model-version", help="version recorded in the shipped file's metadata")
    ap.add_argument("--name", help="model name in the metadata (default: the file name's stem)")
    ap.add_argument("--eval-only", action="store_true",
                    help="only evaluate models/runs/val-<run>.onnx on the test split into --out")
    args = ap.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    command = "python -m models.ssdh.promote " + " ".join(argv)

    from .data import load_fmnist
    from .evaluate import evaluate_model, summary

    run_stem = os.path.join(VAL, args.run)
    with open(run_stem + ".val.json") as f:
        val = json.load(f)
    with open(run_stem + ".train.json") as f:
        tr = json.load(f)
    ds = load_fmnist()

    reexported = None
    if args.eval_only:
        model_path = os.path.join(RUNS, f"val-{args.run}.onnx")
        if not os.path.exists(model_path):
            reexported = export_validation_run(args.run, tr, ds, model_path)
    else:
        if not args.model_version:
            ap.error("--model-version is required unless --eval-only")
        model_path = args.out
        export(args, tr, ds, command)

    res = evaluate_model(model_path, ds)
    res["model"] = os.path.relpath(model_path, ROOT) if not args.eval_only else res["model"]
    res["split"] = "test"
    res["command"] = command
    res["selected_on"] = {"run": f"validation/{args.run}", "val_map_full": val["retrieval"]["map_full"],
                          "val_accuracy": val["test_accuracy"]}
    if reexported:
        res["reexported_from"] = reexported
    out = args.out[:-5] + ".eval.json" if args.out.endswith(".onnx") else args.out
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({"test": summary(res)}), flush=True)


def final_checkpoint(run):
    for path in (os.path.join(RUNS, f"{run}.pt"), os.path.join(ROOT, "models", "checkpoints", f"{run}.pt")):
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"no final checkpoint for {run}: neither models/runs/{run}.pt nor "
                            f"models/checkpoints/{run}.pt exists (retrain it with its study)")


def load_run_model(run, tr, ds):
    """The validation run's final weights in the network its settings describe, and where they were."""
    import torch

    from .net import SSDH

    s = tr["settings"]
    spec = ds.spec
    model = SSDH(s["bits"], len(ds.classes), spec.channels, spec.height, spec.width, s.get("backbone", "cnn4"))
    ckpt = final_checkpoint(run)
    model.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True))
    return model.eval(), ckpt


def write_onnx(model, tr, ds, path, model_name, model_version):
    """Export `model` to `path` under the contract's metadata for the run's settings; returns
    the metadata."""
    from .contract import build_metadata
    from .export import check, export_onnx

    spec = ds.spec
    meta = build_metadata(code_bits=tr["settings"]["bits"], class_names=ds.classes, height=spec.height,
                          width=spec.width, color_mode=spec.color_mode, mean=spec.mean, std=spec.std,
                          model_name=model_name, model_version=model_version)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    export_onnx(model, path, meta, spec.channels, spec.height, spec.width)
    check(path)
    return meta


def export_validation_run(run, tr, ds, path):
    """Export a run's final weights as the trainer did (its name, version 1.0.0), for a test
    evaluation whose export did not survive; returns where the weights came from."""
    s = tr["settings"]
    model, ckpt = load_run_model(run, tr, ds)
    write_onnx(model, tr, ds, path, s.get("name") or run, s.get("model_version", "1.0.0"))
    return os.path.relpath(ckpt, ROOT)


def export(args, tr, ds, command):
    from .export import compare_with_torch

    s = tr["settings"]
    model, ckpt = load_run_model(args.run, tr, ds)
    stem = os.path.splitext(args.out)[0]
    meta = write_onnx(model, tr, ds, args.out, args.name or os.path.basename(stem), args.model_version)
    exported = {"path": os.path.relpath(args.out, ROOT), "bytes": os.path.getsize(args.out), "metadata": meta,
                **compare_with_torch(model, args.out, ds.test.x[:2000])}
    same = same_codes_as_validation_export(args.run, args.out, ds.test.x[:2000])
    if same is not None:
        exported["codes_equal_validation_export"] = same
        if not same:
            raise RuntimeError(f"{args.out}: codes differ from models/runs/val-{args.run}.onnx")
    log = dict(tr)
    log["settings"] = {**s, "out": os.path.relpath(args.out, ROOT), "model_version": args.model_version}
    log["export"] = exported
    log["promoted"] = {"from_run": f"validation/{args.run}", "checkpoint": os.path.relpath(ckpt, ROOT),
                       "command": command,
                       "note": "weights of the validation run, re-exported under the shipped name and "
                               "version; not trained again (trained on the 55,000 images outside the "
                               "validation split)"}
    with open(stem + ".train.json", "w") as f:
        json.dump(log, f, indent=1)
    print(json.dumps(log["export"]), flush=True)


def same_codes_as_validation_export(run, path, x):
    """Whether the shipped file gives the validation export's codes and classes on `x` (None
    when that export was not kept)."""
    from .evaluate import encode

    other = os.path.join(RUNS, f"val-{run}.onnx")
    if not os.path.exists(other):
        return None
    a_lat, a_log, _ = encode(path, x)
    b_lat, b_log, _ = encode(other, x)
    return bool(((a_lat > 0.5) == (b_lat > 0.5)).all() and (a_log.argmax(1) == b_log.argmax(1)).all())


if __name__ == "__main__":
    main()

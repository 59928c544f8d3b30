"""Trainer smoke test: 512 training images, one epoch, export, contract check, a small evaluation;
then the shipped 48-bit model's second stage in miniature (one clean epoch from the first
checkpoint, `--init` + `--clean-epochs`), exported and checked the same way.

    python -m models.ssdh.smoke      (or: make -C models smoke)

Needs requirements-train.txt and the Fashion-MNIST package; about a minute on 2 CPU cores.
Writes to a temporary folder and leaves the shipped models alone."""
from __future__ import annotations

import json
import os
import sys
import tempfile


def main() -> int:
    from .contract import check_model_file
    from .train import main as train

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "smoke.pt")
        stages = [("ssdh-smoke-16", ["--clean-epochs", "0", "--checkpoint", ckpt]),
                  ("ssdh-smoke-16-clean", ["--init", ckpt, "--clean-epochs", "1", "--lr", "3e-4",
                                           "--checkpoint", os.path.join(tmp, "smoke-clean.pt")])]
        ok = True
        for stem, extra in stages:
            out = os.path.join(tmp, stem + ".onnx")
            train(["--bits", "16", "--epochs", "1", "--limit", "512", "--eval-limit", "1000",
                   "--out", out, *extra])
            problems = check_model_file(out)
            log = json.load(open(os.path.join(tmp, stem + ".train.json")))
            ev = json.load(open(os.path.join(tmp, stem + ".eval.json")))
            ok &= (not problems and log["export"]["latent_max_abs_diff"] < 1e-4
                   and 0.0 <= ev["retrieval"]["map_full"] <= 1.0)
            print(f"{stem}: contract problems:", problems or "none")
            print(f"{stem}: max abs diff torch vs onnxruntime: latent %.2e, logits %.2e" % (
                log["export"]["latent_max_abs_diff"], log["export"]["logits_max_abs_diff"]))
        print("SMOKE OK" if ok else "SMOKE FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

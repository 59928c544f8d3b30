"""CI has no PyTorch: the modules the tests use must not need it."""
import importlib
import sys


def test_ci_modules_do_not_import_torch():
    for m in ("models.ssdh.preprocess", "models.ssdh.contract", "models.ssdh.metrics",
              "models.ssdh.samples", "models.ssdh.evaluate"):
        importlib.import_module(m)
    if "torch" in sys.modules:
        # Another test session may have imported it; what matters is that none of ours needs it.
        for m in ("models.ssdh.preprocess", "models.ssdh.contract", "models.ssdh.metrics"):
            src = open(importlib.import_module(m).__file__).read()
            assert "import torch" not in src

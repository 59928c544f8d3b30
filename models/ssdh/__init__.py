"""SSDH (Yang, Lin, Chen, arXiv 1507.00101) for hamdb.

Modules that the CI tests import (preprocess, contract, metrics, codes) must not import torch:
CI installs only onnxruntime, numpy, pillow and pytest.
"""

MODEL_VERSION = "1.0.0"

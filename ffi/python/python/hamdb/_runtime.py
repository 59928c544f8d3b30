"""Where the ONNX Runtime library is: the ``onnxruntime`` package this interpreter imports.

The native encoder loads ``libonnxruntime`` dynamically (one per process). Inside Python the
package the user installed with ``pip install onnxruntime`` is the right one: found here
without importing it (importing it would load its own copy first).
"""

import glob
import importlib.util
import os
from typing import Optional


def find() -> Optional[str]:
    """The path of ``onnxruntime/capi/libonnxruntime.so*`` (or the platform's name), or None."""
    try:
        spec = importlib.util.find_spec("onnxruntime")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        capi = os.path.join(root, "capi")
        for pattern in ("libonnxruntime.so*", "libonnxruntime*.dylib", "onnxruntime.dll"):
            # The unversioned name first, else the highest versioned one.
            hits = sorted(glob.glob(os.path.join(capi, pattern)), key=len)
            if hits:
                return hits[0]
    return None

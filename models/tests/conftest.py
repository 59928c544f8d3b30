import os
import sys

# Tests import the reference code as `models.ssdh.*`; make that work whatever the cwd.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

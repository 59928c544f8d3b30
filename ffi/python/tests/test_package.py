"""The installed package as a user gets it: typed, and a module that exports only its init."""

import os
import shutil
import subprocess

import hamdb
import hamdb._hamdb


def test_typed_package_files_ship():
    root = os.path.dirname(hamdb.__file__)
    for name in ("py.typed", "_hamdb.pyi", "faiss.py"):
        assert os.path.exists(os.path.join(root, name)), name


def test_the_module_exports_no_c_abi_symbols():
    """It links the C ABI crate for the status list only (no `abi` feature): a process that
    also loads libhamdb.so sees one definition of each hamdb_* function."""
    nm = shutil.which("nm")
    assert nm, "binutils' nm is needed (make setup installs the FFI tools)"
    out = subprocess.run(
        [nm, "-D", "--defined-only", hamdb._hamdb.__file__], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    names = [line.split()[-1] for line in out.stdout.splitlines() if line.strip()]
    assert "PyInit__hamdb" in names
    assert not [n for n in names if n.startswith("hamdb_")], names

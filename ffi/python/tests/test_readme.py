"""The README's Python examples run as written (in a scratch directory that sees the repo's
models/ and samples/), so the docs cannot drift from the API."""

import os
import re

from conftest import ROOT


def test_readme_python_examples_run(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using hamdb from Python") : text.index("## Scaling out on Ray")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 3, "the Python section lost its examples"
    for name in ("models", "samples"):
        os.symlink(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i}", "exec"), {"__name__": "readme"})

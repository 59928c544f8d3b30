"""The README's Ray example runs as written (make test-ray), in a scratch directory that sees
the repo's models/ and samples/. It starts its own loopback cluster (the other files' clusters
are module-scoped: each is down before the next module runs)."""

import os
import re

import pytest

pytest.importorskip("ray")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))


def test_readme_ray_example_runs(tmp_path, monkeypatch, capsys):
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text[text.index("## Scaling out on Ray"): text.index("## Embedding from C")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Ray section lost its example"
    for name in ("models", "samples"):
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md Ray example", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "1000 stored, 0 failed" in out
    assert (tmp_path / "coll" / "manifest.json").exists()

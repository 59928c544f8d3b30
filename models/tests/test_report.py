import json
import os
import re
import statistics

from models.ssdh.report import readme_table, spread_note
from models.ssdh.samples import ROOT


def fake_eval(map_full, aware):
    return {"retrieval": {"map_full": map_full, "map_full_class_aware_predicted": aware,
                          "map_at_1000": 0.9, "map_11pt_interpolated": 0.8},
            "test_accuracy": 0.93}


def test_spread_note_needs_a_shipped_seed():
    spread = [(f"r48-s{s}", {}, fake_eval(m, m), False) for s, m in enumerate((0.94, 0.95, 0.96))]
    get = lambda e: e["retrieval"]["map_full"]  # noqa: E731
    assert spread_note(spread, get) == ""
    spread[0] = spread[0][:3] + (True,)
    assert spread_note(spread, get) == " (3 seeds: 0.9500 ± 0.0100)"
    assert spread_note([], get) == ""


def test_readme_table_puts_the_spread_on_its_own_length_only():
    spread = [(f"r48-s{s}", {}, fake_eval(m, m + 0.01), s == 0) for s, m in enumerate((0.94, 0.95, 0.96))]
    tr = {"export": {"metadata": {"hamdb.model_version": "9.9.9"}}}
    table = readme_table([(48, fake_eval(0.94, 0.95), tr), (64, fake_eval(0.93, 0.94), tr)], {48: spread})
    row48 = next(line for line in table.splitlines() if "| 48 |" in line and "this repo" in line)
    row64 = next(line for line in table.splitlines() if "| 64 |" in line)
    assert "0.9400 (3 seeds: 0.9500 ± 0.0100)" in row48
    assert "0.9500 (3 seeds: 0.9600 ± 0.0100)" in row48
    assert "seeds" not in row64


def test_readme_48_bit_spread_matches_the_stored_evals():
    # The README's 48-bit row states the mean over the shipped recipe's three seeds: recompute it
    # from the eval files themselves (the shipped one and the two validation-run test evals).
    ref = json.load(open(os.path.join(ROOT, "models", "reference", "ssdh-fmnist-48.eval.json")))
    others = [json.load(open(os.path.join(ROOT, "models", "validation", f"r48-s{s}-clean32-xeon.eval.json")))
              for s in (1, 2)]
    values = [e["retrieval"]["map_full"] for e in [ref, *others]]
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    m = re.search(r"\| 48 \| (\d\.\d{4}) \(3 seeds: (\d\.\d{4}) ± (\d\.\d{4})\)", readme)
    assert m, "the README's 48-bit row carries no seed spread"
    assert float(m.group(1)) == round(values[0], 4)
    assert float(m.group(2)) == round(statistics.mean(values), 4)
    assert float(m.group(3)) == round(statistics.stdev(values), 4)


def test_qsmi_table_rows_the_trained_lengths_and_names_the_rest(tmp_path, monkeypatch):
    from models.ssdh import report
    monkeypatch.setattr(report, "VAL", str(tmp_path))
    monkeypatch.setattr(report, "shipped_run", lambda bits, evals: None)
    # Two candidates at 12 bits: the table reads the better one on validation, and its test eval.
    for run, val_map in (("r12-s0-clean8", 0.90), ("r12-s0-clean32", 0.91)):
        (tmp_path / f"{run}.val.json").write_text(json.dumps(fake_eval(val_map, val_map)))
    (tmp_path / "r12-s0-clean32.eval.json").write_text(json.dumps(fake_eval(0.895, 0.90)))
    table = report.qsmi_table((12, 24))
    row12 = next(line for line in table.splitlines() if line.startswith("| 12 |"))
    assert "r12-s0-clean32" in row12 and "| 0.9100 | 0.8950 |" in row12
    assert "24 bits: not trained and tested yet" in table
    assert not any(line.startswith("| 24 |") for line in table.splitlines())

"""Write models/RESULTS.md from the committed *.train.json / *.eval.json files.

    python -m models.ssdh.report"""
from __future__ import annotations

import json
import os
import re
import statistics

from .options import BACKBONES, parse_args
from .samples import ROOT

REF = os.path.join(ROOT, "models", "reference")
ABL = os.path.join(ROOT, "models", "ablation")
# Earlier shipped versions of a reference model: their .train.json / .eval.json only (the .onnx
# files are in git history), kept so that the table shows what each change bought.
HIST = os.path.join(ROOT, "models", "history")
# Runs for model selection: trained without the validation split, evaluated on it only
# (<stem>.val.json); their test numbers are never computed.
VAL = os.path.join(ROOT, "models", "validation")


def validation_rows():
    rows = []
    if not os.path.isdir(VAL):
        return rows
    chosen = shipped_from()
    for name in sorted(os.listdir(VAL)):
        if not name.endswith(".val.json"):
            continue
        stem = os.path.join(VAL, name[: -len(".val.json")])
        with open(stem + ".val.json") as f:
            ev = json.load(f)
        with open(stem + ".train.json") as f:
            tr = json.load(f)
        st = tr["settings"]
        r = ev["retrieval"]
        b = ev["bits_database"]
        init = os.path.basename(st["init"]) if st.get("init") else "-"
        aware = r.get("map_full_class_aware_predicted")
        aware = f"{aware:.4f}" if aware is not None else "-"
        run = os.path.basename(stem)
        mark = f" (**shipped**, {chosen[run]})" if run in chosen else ""
        rows.append(f"| {run}{mark} | {ev['code_bits']} | {st.get('backbone', 'cnn4')} | "
                    f"{st['alpha']:g} / {st['beta']:g} | {epochs(tr)} | {st['lr']:g} | {init} | {st['seed']} | "
                    f"**{r['map_full']:.4f}** | {aware} | {r['map_at_1000']:.4f} | {ev['test_accuracy']:.4f} | "
                    f"{b['mean_abs_correlation']:.3f} | {b['firing_rate_min']:.2f}-{b['firing_rate_max']:.2f} | "
                    f"{b['constant_bits']} | {b.get('non_redundant_bits', '-')} |")
    return rows


def promoted_evals():
    """Validation run -> (shipped file stem, its test eval), for the models/reference files
    promoted from a validation run (their eval records it in "selected_on")."""
    out = {}
    for name in sorted(os.listdir(REF)):
        if name.endswith(".eval.json"):
            with open(os.path.join(REF, name)) as f:
                ev = json.load(f)
            if "selected_on" in ev:
                out[ev["selected_on"]["run"].split("/", 1)[1]] = (name[: -len(".eval.json")], ev)
    return out


def shipped_run(bits, promoted):
    """(validation run, test eval) the shipped `bits`-bit file was promoted from, or None."""
    return next(((run, ev) for run, (stem, ev) in promoted.items() if stem == f"ssdh-fmnist-{bits}"), None)


def shipped_from():
    """Validation run -> the shipped file stem promoted from it."""
    return {run: stem for run, (stem, _) in promoted_evals().items()}


def seed_spread(bits=48, seeds=(0, 1, 2), template=None, runs=None):
    """Test mAP of the shipped recipe at `bits` at each seed: the shipped model's eval (it records
    the run it was promoted from) or the run's own test eval (models/validation/<run>.eval.json).
    The recipe is the shipped run's name with its seed replaced (r48-s0-clean8 -> r48-s1-clean8);
    [] until every seed has both a validation and a test eval. `template` (e.g. "r64-s0-clean8")
    names another recipe than the shipped run's; `runs` names the seeds' runs outright (one of
    them a rerun under another name than the template's)."""
    promoted = promoted_evals()
    if runs is None:
        chosen = template or (shipped_run(bits, promoted) or (None,))[0]
        if chosen is None or not re.search(r"-s\d+", chosen):
            return []
        runs = [re.sub(r"-s\d+", f"-s{seed}", chosen, count=1) for seed in seeds]
    out = []
    for run in runs:
        ev = promoted[run][1] if run in promoted else None
        path = os.path.join(VAL, run + ".eval.json")
        if ev is None and os.path.exists(path):
            with open(path) as f:
                ev = json.load(f)
        val_path = os.path.join(VAL, run + ".val.json")
        if ev is None or not os.path.exists(val_path):
            return []
        with open(val_path) as f:
            val = json.load(f)
        out.append((run, val, ev, run in promoted))
    return out


QSMI_MAP_11PT = {12: 0.842, 24: 0.873, 36: 0.863, 48: 0.860}


def best_validation_run(bits):
    """The validation run with the highest validation mAP (full ranking) at `bits`, or None."""
    best = None
    for name in sorted(os.listdir(VAL)) if os.path.isdir(VAL) else []:
        if name.startswith(f"r{bits}-") and name.endswith(".val.json"):
            with open(os.path.join(VAL, name)) as f:
                ev = json.load(f)
            if best is None or ev["retrieval"]["map_full"] > best[1]["retrieval"]["map_full"]:
                best = (name[: -len(".val.json")], ev)
    return best


def qsmi_table(lengths=(12, 24, 36)):
    """QSMI's code lengths that hamdb does not ship: at each, the run chosen on validation by the
    shipped models' rule, evaluated on test once (models/validation/<run>.eval.json, written by
    `promote --eval-only`); the shipped 48-bit model closes the table for QSMI's 48."""
    lines = ["| bits | run (chosen on validation) | val mAP | test mAP (full ranking) | test mAP, class-aware | "
             "test mAP 11-pt interp. | QSMI 11-pt interp. | test accuracy |", "|---" * 8 + "|"]
    rows = []
    for bits in lengths:
        best = best_validation_run(bits)
        path = os.path.join(VAL, best[0] + ".eval.json") if best else None
        if not path or not os.path.exists(path):
            continue
        with open(path) as f:
            ev = json.load(f)
        rows.append((bits, best[0], best[1], ev))
    if not rows:
        return ("Not trained yet: at about 40 s an epoch here, each length is 35-40 minutes of CPU, "
                "and the time went to the shipped lengths first.")
    missing = [bits for bits in lengths if bits not in {b for b, *_ in rows}]
    shipped48 = shipped_run(48, promoted_evals())
    if shipped48:
        with open(os.path.join(VAL, shipped48[0] + ".val.json")) as f:
            rows.append((48, shipped48[0] + " (shipped)", json.load(f), shipped48[1]))
    for bits, run, val, ev in rows:
        r = ev["retrieval"]
        lines.append(f"| {bits} | {run} | {val['retrieval']['map_full']:.4f} | {r['map_full']:.4f} | "
                     f"{r['map_full_class_aware_predicted']:.4f} | {r['map_11pt_interpolated']:.4f} | "
                     f"{QSMI_MAP_11PT[bits]:.3f} | {ev['test_accuracy']:.4f} |")
    if missing:
        lines.append("\n" + " and ".join(map(str, missing)) + " bits: not trained and tested yet "
                     "(about 100 CPU minutes a length here).")
    return "\n".join(lines)


def seed_table(spread):

    lines = ["| run | shipped | val mAP | test mAP (full ranking) | test mAP, class-aware | test mAP@1000 | "
             "test accuracy |", "|---" * 7 + "|"]
    for run, val, ev, is_shipped in spread:
        r = ev["retrieval"]
        lines.append(f"| {run} | {'yes' if is_shipped else 'no'} | {val['retrieval']['map_full']:.4f} | "
                     f"{r['map_full']:.4f} | {r['map_full_class_aware_predicted']:.4f} | "
                     f"{r['map_at_1000']:.4f} | {ev['test_accuracy']:.4f} |")

    def stat(get):
        v = [get(x) for x in spread]
        return f"{statistics.mean(v):.4f} ± {statistics.stdev(v):.4f} ({min(v):.4f}-{max(v):.4f})"
    lines.append(f"| mean ± sd (range) | | {stat(lambda x: x[1]['retrieval']['map_full'])} | "
                 f"{stat(lambda x: x[2]['retrieval']['map_full'])} | "
                 f"{stat(lambda x: x[2]['retrieval']['map_full_class_aware_predicted'])} | "
                 f"{stat(lambda x: x[2]['retrieval']['map_at_1000'])} | {stat(lambda x: x[2]['test_accuracy'])} |")
    return "\n".join(lines)


def load(stem):
    with open(stem + ".eval.json") as f:
        ev = json.load(f)
    with open(stem + ".train.json") as f:
        tr = json.load(f)
    return ev, tr


def backbone(tr):
    # Runs before the backbone option existed used cnn4 (their "backbone" setting was a note).
    name = tr["settings"].get("backbone", "cnn4")
    return name if name in BACKBONES else LEGACY["backbone"]


def row(label, ev, tr):
    r = ev["retrieval"]
    p = r["precision_at_k"]
    b = ev["bits_database"]
    s = tr["settings"]
    aware = f"{r['map_full_class_aware_predicted']:.4f}" if "map_full_class_aware_predicted" in r else "-"
    train_min = f"{tr['train_seconds'] / 60:.1f}" if tr.get("epochs") else "-"
    fastest = f"{min(e['seconds'] for e in tr['epochs']):.0f}" if tr.get("epochs") else "-"
    return (f"| {label} | {backbone(tr)} ({s['params'] / 1e6:.2f}M) | {s['alpha']:g} / {s['beta']:g} | "
            f"{r['map_full']:.4f} | {aware} | {r['map_at_1000']:.4f} | "
            f"{r['map_11pt_interpolated']:.4f} | {r['precision_hamming_r2']:.4f} | {p['1']:.4f} | {p['10']:.4f} | "
            f"{p['100']:.4f} | {p['1000']:.4f} | {ev['test_accuracy']:.4f} | {ev['train_accuracy']:.4f} | "
            f"{b['mean_abs_correlation']:.3f} | {b.get('non_redundant_bits', '-')} | "
            f"{b['firing_rate_min']:.2f}-{b['firing_rate_max']:.2f} | "
            f"{ev['latent_saturated_fraction']:.3f} | {epochs(tr)} | {train_min} | "
            f"{fastest} | {s.get('threads', 2)} | "
            f"{tr['export']['bytes'] / 1e6:.2f} |")


# The trainer's defaults for the options a recipe may change; an option equal to its default is
# left out of a command.
_DEFAULT_ARGS = vars(parse_args([]))
DEFAULTS = {k: _DEFAULT_ARGS[k] for k in ("backbone", "alpha", "beta", "lr", "weight_decay", "batch_size",
                                          "pad", "seed", "clean_epochs", "init", "threads")}
# What runs recorded before an option existed did (their settings lack the key).
LEGACY = {"backbone": "cnn4", "clean_epochs": 0, "init": None}
# Runs that start from another run's weights (--init): the checkpoint -> the run that wrote it.
# (stems relative to models/)
STAGE1 = {"models/runs/ssdh-fmnist-48-1.1.0.pt": "history/ssdh-fmnist-48-1.1.0",
          **{f"models/runs/ssdh-fmnist-{k}-1.0.0.pt": f"history/ssdh-fmnist-{k}-1.0.0" for k in (16, 32, 64)},
          "models/runs/ssdh-fmnist-48-cnn5.pt": "ablation/ssdh-fmnist-48-cnn5"}


def command(tr, checkpoint=None, out=None):
    """The trainer command that reproduces `tr`'s run; `out` replaces its recorded output path."""
    s = tr["settings"]
    extra = ""
    for key, default in DEFAULTS.items():
        value = backbone(tr) if key == "backbone" else s.get(key, LEGACY.get(key, default))
        if value != default:
            # (a thread count other than 2 is part of a recipe: it changes float summation order)
            extra += f" --{key.replace('_', '-')} {value:g}" if isinstance(value, float) else f" --{key.replace('_', '-')} {value}"
    version = tr["export"]["metadata"]["hamdb.model_version"]
    if version != "1.0.0":
        extra += f" --model-version {version}"
    if checkpoint:
        extra += f" --checkpoint {checkpoint}"
    return f"python -m models.ssdh.train --bits {s['bits']} --epochs {s['epochs']}{extra} --out {out or s['out']}"


def stage1_settings(init):
    """Settings of the run that wrote checkpoint `init`, or None."""
    first = STAGE1.get(init)
    name = os.path.basename(init or "")
    if first is None and name.startswith("val-") and name.endswith(".pt"):
        first = "validation/" + name[len("val-"):-len(".pt")]   # models/validation_runs.sh's stage 1
    path = os.path.join(ROOT, "models", first + ".train.json") if first else None
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["settings"]


def epochs(tr):
    s = tr["settings"]
    clean = s.get("clean_epochs", LEGACY["clean_epochs"])
    text = f"{s['epochs']}" + (f" ({clean} clean)" if clean else "")
    if s.get("init"):
        first = stage1_settings(s["init"])
        text = f"{first['epochs'] if first else '?'} + {text}"
    return text


def version(tr):
    return tr["export"]["metadata"]["hamdb.model_version"]


def promoted_commands(label, tr):
    """How a model promoted from a validation run is reproduced: the run, then the promotion."""
    run = tr["promoted"]["from_run"].split("/", 1)[1]
    # The run whose first stage it started from (validation_runs.sh's checkpoint val-<base>-e45.pt);
    # another name than its own makes it a second-stage study.
    base = os.path.basename(tr["settings"]["init"])[len("val-"):-len("-e45.pt")]
    if base == run:
        train = [f"PY=python bash models/validation_runs.sh {run}   # {label}: both training stages "
                 f"(models/validation/{run}*.train.json)"]
    else:   # a second-stage study: the base run's first stage, then the study's second stage
        train = [f"PY=python bash models/validation_runs.sh {base}   # {label}: stage 1 "
                 f"(models/validation/{base}-e45.train.json; its own stage 2 is not needed)",
                 f"PY=python bash models/validation_studies.sh {run}   # {label}: stage 2 "
                 f"(models/validation/{run}.train.json)"]
    return train + [f"{tr['promoted']['command']}   # {label}: ship it, evaluate on test once"]


def spread_note(spread, get):
    """' (3 seeds: mean ± sd)' of one measure over a shipped recipe's seeds, or '' without them."""
    if not spread or not any(is_shipped for *_, is_shipped in spread):
        return ""
    v = [get(ev) for _, _, ev, _ in spread]
    return f" ({len(v)} seeds: {statistics.mean(v):.4f} ± {statistics.stdev(v):.4f})"


def readme_table(shipped, spreads=None):
    """The README's quality table: the shipped models' test rows beside the published figures.
    `spreads` maps a code length to its shipped recipe's seed spread (seed_spread's rows): that
    row's full-ranking and class-aware mAP then carry the mean and sd over the seeds too."""
    spreads = spreads or {}
    lines = ["| method | data | backbone | bits | mAP (full ranking) | mAP, class-aware ranking, stored = predicted "
             "| mAP@1000 | 11-pt interp. mAP | accuracy |", "|---" * 9 + "|"]
    for k, ev, tr in shipped:
        r = ev["retrieval"]
        aware = r.get("map_full_class_aware_predicted")
        spread = spreads.get(k)
        full = f"{r['map_full']:.4f}" + spread_note(spread, lambda e: e["retrieval"]["map_full"])
        aware_cell = "" if aware is None else f"{aware:.4f}" + spread_note(
            spread, lambda e: e["retrieval"]["map_full_class_aware_predicted"])
        lines.append(f"| SSDH, this repo ({version(tr)}) | Fashion-MNIST | compact CNN from scratch | {k} | "
                     f"{full} | {aware_cell} | {r['map_at_1000']:.4f} | "
                     f"{r['map_11pt_interpolated']:.4f} | {ev['test_accuracy']:.4f} |")
    lines += ["| SSDH, official code (paper) | CIFAR-10 | AlexNet, ImageNet-pretrained | 48 | | | 0.913 (top 1,000) | | |",
              "| QSMI (arXiv 1901.05135) | Fashion-MNIST | their CNN | 12 / 24 / 36 / 48 | | | | "
              "0.842 / 0.873 / 0.863 / 0.860 | |"]
    return "\n".join(lines)


README_START = "<!-- quality table: written by python -m models.ssdh.report from models/reference/*.eval.json -->"
README_END = "<!-- end of quality table -->"


def write_readme_table(text):
    path = os.path.join(ROOT, "README.md")
    readme = open(path, encoding="utf-8").read()
    a, b = readme.find(README_START), readme.find(README_END)
    if a < 0 or b < a:
        raise SystemExit(f"{path}: the quality table markers are missing")
    readme = readme[:a + len(README_START)] + "\n" + text + "\n" + readme[b:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(readme)


HISTORY = {"ssdh-fmnist-32-2.2.0": "32 bits, 2.2.0 (shipped before; r32-s1-clean32, chosen on validation "
                                   "before the unseen-database condition)",
           "ssdh-fmnist-16-2.1.0": "16 bits, 2.1.0 (shipped before; r16-s0-clean16, chosen on validation)",
           "ssdh-fmnist-48-2.1.0": "48 bits, 2.1.0 (shipped before; r48-s0-clean16, chosen on validation)",
           "ssdh-fmnist-32-2.1.0": "32 bits, 2.1.0 (shipped before; r32-s0-clean16, chosen on validation)",
           "ssdh-fmnist-64-2.2.0": "64 bits, 2.2.0 (shipped before; r64-s1-clean16, chosen on validation)",
           "ssdh-fmnist-16-2.0.0": "16 bits, 2.0.0 (shipped before; r16-s0, chosen on validation)",
           "ssdh-fmnist-64-2.1.0": "64 bits, 2.1.0 (shipped before; r64-s2-clean16, chosen on validation)",
           "ssdh-fmnist-48-2.0.0": "48 bits, 2.0.0 (shipped before; r48-s0-clean8, chosen on validation)",
           "ssdh-fmnist-64-2.0.0": "64 bits, 2.0.0 (shipped before; r64-s1-clean8, chosen on validation)",
           "ssdh-fmnist-32-2.0.0": "32 bits, 2.0.0 (shipped before; r32-s0, chosen on validation)",
           "ssdh-fmnist-48-1.2.0": "48 bits, 1.2.0 (shipped before; recipe chosen on test)",
           **{f"ssdh-fmnist-{k}-1.1.0": f"{k} bits, 1.1.0 (shipped before)" for k in (16, 32, 64)},
           "ssdh-fmnist-48-1.1.0": "48 bits, 1.1.0 (shipped before)",
           "ssdh-fmnist-48-1.0.0": "48 bits, 1.0.0 (shipped before)",
           **{f"ssdh-fmnist-{k}-1.0.0": f"{k} bits, 1.0.0 (shipped before)" for k in (16, 32, 64)}}


def main():
    rows, cmds, exports, shipped = [], [], [], []
    runs = [(f"SSDH {k} bits" + (" (default)" if k == 48 else ""), os.path.join(REF, f"ssdh-fmnist-{k}"))
            for k in (16, 32, 48, 64)]
    runs += [(label, os.path.join(HIST, stem)) for stem, label in HISTORY.items()]
    ablations = {"ssdh-fmnist-48-1.1.0-plus4-augmented": "48 bits, 1.1.0 + 4 augmented epochs (control)",
                 "ssdh-fmnist-48-cnn5": "48 bits, cnn5 backbone, 1.1.0 recipe",
                 "ssdh-fmnist-48-cnn5-clean4": "48 bits, cnn5 + 4 clean epochs",
                 "ssdh-fmnist-48-e20-clean3": "48 bits, 20 epochs, last 3 clean (one run)",
                 "ssdh-fmnist-48-a0b0": "48 bits, alpha=beta=0 (ablation)",
                 "ssdh-fmnist-48-a1b1-e12": "48 bits, 12 epochs (ablation's length)"}
    runs += [(label, os.path.join(ABL, stem)) for stem, label in ablations.items()]
    for label, stem in runs:
        if not os.path.exists(stem + ".eval.json"):
            continue
        ev, tr = load(stem)
        if stem.startswith(REF):
            label = f"{label}, {version(tr)}"
            shipped.append((ev["code_bits"], ev, tr))
        rows.append(row(label, ev, tr))
        if "promoted" in tr:
            cmds += promoted_commands(label, tr)
        elif not stem.startswith(HIST):
            first = STAGE1.get(tr["settings"].get("init"))
            if first and not any(f"(= {first})" in c for c in cmds):
                # Into models/runs (ignored) beside its checkpoint: the recorded output path of a
                # stage 1 that was shipped before is a shipped file's, which a rerun would overwrite.
                out = tr["settings"]["init"][: -len(".pt")] + ".onnx"
                cmds.append(f"{command(load(os.path.join(ROOT, 'models', first))[1], tr['settings']['init'], out)}   "
                            f"# {label}, stage 1 (= {first}); writes the checkpoint stage 2 starts from")
            rel = os.path.relpath(stem, os.path.join(ROOT, "models"))
            ckpt = next((c for c, first in STAGE1.items() if first == rel), None)
            marker = f" (= {rel}); writes the checkpoint a stage 2 starts from" if ckpt else ""
            cmds.append(f"{command(tr, ckpt)}   # {label}{marker}: settings in {os.path.relpath(stem, ROOT)}.train.json")
        ex = tr["export"]
        exports.append(f"| {label} | {ex['images']} | {ex['latent_max_abs_diff']:.2e} | "
                       f"{ex['logits_max_abs_diff']:.2e} | {ex['code_bits_differing']} |")
    header = ("| model | backbone (params) | alpha / beta | mAP (full ranking) | mAP, class-aware (stored = predicted) | "
              "mAP@1000 | mAP 11-pt interp. | "
              "P (Hamming r<=2) | P@1 | P@10 | P@100 | P@1000 | test accuracy | train accuracy | mean abs bit corr. | "
              "non-redundant bits | bit firing rate range | saturated activations | epochs | train min | "
              "fastest epoch s | threads | ONNX MB |\n" + "|---" * 23 + "|")
    notes_path = os.path.join(ROOT, "models", "results_notes.md")
    notes = open(notes_path).read() if os.path.exists(notes_path) else ""
    vrows = validation_rows()
    vheader = ("| run | bits | backbone | alpha / beta | epochs | lr | from | seed | val mAP (full ranking) | "
               "val mAP, class-aware | val mAP@1000 | val accuracy | mean abs bit corr. | bit firing rate range | "
               "constant bits | non-redundant bits |\n" + "|---" * 16 + "|")
    validation = vheader + "\n" + "\n".join(vrows) if vrows else "No validation run is stored yet."
    # The recipes with three seeds on test: 48 bits' shipped 32-clean recipe, its 16- and
    # 8-clean-epoch ones at 48 and 64. Where a seed's run is a rerun under another name (the
    # original's weights are gone; see the notes) the runs are named outright: 48 bits' 32-clean
    # seeds (the Xeon reruns) and 64 bits' 16-clean seed 0 (the AMD rerun).
    spreads = ((48, "48 bits, 32 clean epochs (2.2.0, shipped)", None,
                ("r48-s0-clean32-xeon", "r48-s1-clean32-xeon", "r48-s2-clean32-xeon")),
               (48, "48 bits, 16 clean epochs (2.1.0's recipe)", "r48-s0-clean16", None),
               (48, "48 bits, 8 clean epochs (2.0.0's recipe)", "r48-s0-clean8", None),
               (64, "64 bits, 16 clean epochs (2.2.0's recipe)", None,
                ("r64-s0-clean16-amd", "r64-s1-clean16", "r64-s2-clean16")),
               (64, "64 bits, 8 clean epochs (2.0.0's recipe)", "r64-s0-clean8", None))
    spread_rows = [(bits, label, spread) for bits, label, template, named in spreads
                   if (spread := seed_spread(bits, template=template, runs=named))]
    seeds = "\n\n".join(f"{label}:\n\n{seed_table(spread)}" for _, label, spread in spread_rows)
    # The README row of a length carries the spread of the recipe it ships (its shipped seed is
    # one of the three); the first such table per length is the shipped one.
    shipped_spreads = {}
    for bits, _, spread in spread_rows:
        if any(is_shipped for *_, is_shipped in spread):
            shipped_spreads.setdefault(bits, spread)
    seeds = seeds or "Not all three seeds are evaluated yet."
    text = TEMPLATE.format(table=header + "\n" + "\n".join(rows), commands="\n".join(cmds),
                           exports="\n".join(exports), notes=notes, validation=validation, seeds=seeds,
                           qsmi=qsmi_table())
    with open(os.path.join(ROOT, "models", "RESULTS.md"), "w") as f:
        f.write(text)
    write_readme_table(readme_table(sorted(shipped, key=lambda x: x[0]), shipped_spreads))
    print(text)


TEMPLATE = """# SSDH on Fashion-MNIST: results

All numbers below are measured on the **exported ONNX files** with onnxruntime (not on the PyTorch
model), by `python -m models.ssdh.evaluate` (the trainer runs it at the end). Raw numbers, the full
precision@k curve (k = 1..1000) and per-bit firing rates are in the `*.eval.json` file next to each
model; settings and per-epoch logs in `*.train.json`.

## Protocol

* Data: Fashion-MNIST from Debian's `dataset-fashion-mnist` (IDX files). **Database = the 60,000
  training images, queries = the 10,000 test images.** Relevant = same class.
* Codes: `latent > 0.5`. Ranking: Hamming distance, **ties broken by database index** (stable sort).
* mAP (full ranking): average precision over the whole 60,000-item ranking, averaged over queries.
* mAP@1000: precision at each relevant item within the top 1000, averaged over the relevant items
  found in the top 1000 (the DPSH/HashNet convention; a query with none found scores 0).
* mAP 11-pt interpolated: mean over recall r in {{0, 0.1, ..., 1}} of the best precision at recall
  >= r, over the full ranking — the measure QSMI reports.
* P (Hamming r<=2): precision of the items within Hamming distance 2 of the query; **a query with no
  item within radius 2 counts as precision 0**.
* P@k: precision of the top k of the ranking (ties by index), mean over queries.
* test / train accuracy: argmax of `logits` on the 10,000 test images / the 60,000 (un-augmented)
  training images, i.e. the database.
* Bit statistics on the 60,000 database codes: mean |Pearson correlation| over pairs of distinct
  bits, range of per-bit firing rates; "non-redundant bits" = the non-constant bits left after
  dropping, in bit order, each bit whose |correlation| with an earlier kept bit exceeds 0.95 (a
  near copy of it or of its complement; `metrics.non_redundant_bits`; "-" for evaluations made
  before it was recorded); "saturated" = share of test activations < 0.1 or > 0.9.

## Model selection: the validation protocol (issue 16)

* **Validation split**: 5,000 of the 60,000 training images, stratified (500 per class), chosen by
  a PCG64 permutation with seed 0 (`models/ssdh/data.py: stratified_split`; `--val-size`,
  `--split-seed`). Training runs made for selection train on the other 55,000 and log
  validation accuracy per epoch (not test accuracy); after export they are evaluated with the
  5,000 validation images as queries against the 55,000 training images as the database (the
  test protocol's shape), written to `<stem>.val.json`. Their test numbers are not computed.
* **What is chosen on validation**: the recipe at each code length (stage lengths, the clean
  stage, the balance weight beta), read only from the `.val.json` files in the table below.
  The shipped models (2.2.0 at 16 and 48 bits, 2.3.0 at 32 and 64) *are* the chosen validation runs' weights,
  re-exported under the shipped name and version by `python -m models.ssdh.promote` (same
  codes, checked), so they
  were trained on the 55,000 images outside the split; their test numbers (`.eval.json`) were
  computed once, after the choice, by that command. The chosen recipe's other seeds are
  evaluated on test after the choice too, for the spread (`models/validation/r48-s*.eval.json`
  and `r64-s*.eval.json`; for 64 bits 2.3.0 only seed 2, since seed 0's weights are gone).
* **The rule**, fixed before any 2.0.0 test number existed: at each code length, the run with
  the highest validation mAP (full ranking); at 48 bits, the best of the three seeds of the
  best recipe (at 64 bits too, once 64 fell below 48 on validation, until a single-seed
  longer clean stage beat that best of three on validation; see the notes). **Amended
  2026-12-07** (after two 48-epoch clean-stage runs' validation numbers existed, before any
  test number of them was computed): a longer clean stage must also not lower the
  unseen-database validation mAP (`python -m models.ssdh.unseen_database --split val`: the
  5,000 held-out images halved into queries and database), because the standard measure's
  database is the training set and rewards fitting it. The 48-epoch stage raised the standard
  validation mAP and lowered the unseen-database one at 48 and 64 bits, so it was not adopted
  (the rows r48-s0-clean48 and r64-s1-clean48 below; see the notes); the two runs had been
  registered under the unamended rule and would have shipped under it. The second measure had
  first been looked at on test (the notes, "32 clean epochs"), and the 32-bit swap below was
  made with 32 bits' test numbers known; the condition is a strict comparison of single runs,
  whose margins (+0.0007 at 64 bits, -0.0027 at 32) sit near the seed noise. Applied to the 16 -> 32
  clean-epoch step from the same seed, it passes at 16, 48 and 64 bits and fails at 32 bits,
  so 32 bits ships its best 16-clean-epoch seed (r32-s1-clean16-amd, 2.3.0). A
  shipped file whose `.train.json` has no `promoted` entry was not chosen this way (none is
  shipped now).
* **What was not**: the candidates themselves come from the earlier, test-selected work (recipe
  R = 45 augmented epochs, then 4 clean epochs at lr 3e-4, from the 1.2.0 48-bit model); the
  backbone (cnn4) was not re-chosen on validation. The rows "shipped before" below are test
  numbers of models whose recipe was chosen looking at the test set, kept for history.

Validation runs (queries: the 5,000 validation images; database: the 55,000 others; commands
in `models/validation_runs.sh` (both stages of a run) and `models/validation_studies.sh`
(second-stage variants from a run's first stage); the selection column is bold):

{validation}

Spread over seeds of the chosen recipe, at each length that had three seeds (test numbers
computed after the choice; the shipped seed is the one with the best validation mAP):

{seeds}

## Results (Fashion-MNIST, 10k queries vs 60k database)

{table}

{notes}
### QSMI's code lengths (trained and evaluated, not shipped)

QSMI (arXiv 1901.05135) reports 12, 24, 36 and 48 bits on Fashion-MNIST; hamdb ships 16 / 32 /
48 / 64. The candidates at 12, 24 and 36 bits are trained with the recipe chosen on validation at
16, 48 and 64 bits (at all four shipped lengths until 32 bits went back to 16 clean epochs;
these lengths have no 16-clean run, so the unseen-database condition was not checked here): the 45-epoch augmented first stage (`FIRST_STAGE_ONLY=1
validation_runs.sh r12-s0 r24-s0 r36-s0`) and the 32-epoch clean second stage from it
(`validation_studies.sh r12-s0-clean32 ...`), seed 0; 12 and 36 bits are stored padded to 16 and
40. (Recipe R's 4-clean stage and an 8-clean one, `r12-s0-clean8 ...`, are defined from an
earlier plan and not run.) The best run on validation at each length is evaluated on test once
(`promote --run R --eval-only --out models/validation/R.eval.json`). QSMI's measure is the
11-point interpolated mAP (not like-for-like: their network, their training; see below).

{qsmi}

## Published figures (for context, not like-for-like)

| method | data | backbone | bits | measure | mAP |
|---|---|---|---|---|---|
| SSDH, official code (Yang, Lin, Chen, arXiv 1507.00101) | CIFAR-10 | AlexNet, ImageNet-pretrained | 48 | mAP (see below) | 0.913 |
| QSMI (arXiv 1901.05135) | Fashion-MNIST | their CNN | 12 / 24 / 36 / 48 | 11-pt interpolated mAP, 10k queries vs 60k | 0.842 / 0.873 / 0.863 / 0.860 |
| this repo, SSDH | Fashion-MNIST | compact CNN from scratch | 16 / 32 / 48 / 64 | see the table above (both measures) | |

Protocol differences:

* **SSDH's protocol**: the official code (`run_cifar10.m` in kevinlin311tw/Caffe-DeepBinaryCode) encodes
  the 10,000 CIFAR-10 test images as queries against the 50,000 training images and computes mAP over
  the top 1,000 returned images (`top_k = 1000`); its README shows `MAP = 0.899731` for the released
  48-bit model; 0.913 is the 48-bit figure quoted for the official code in hamdb's issue. Either way
  the SSDH number is closest to this repo's mAP@1000 column, and on another dataset.
* **Dataset**: the official SSDH figure is on CIFAR-10 (colour natural images fed to AlexNet), not
  Fashion-MNIST; it is the paper's reference point, not a comparable number.
* **Backbone**: SSDH fine-tunes an ImageNet-pretrained AlexNet (tens of millions of parameters). No pretrained
  weights can be downloaded here, so this repo trains a compact CNN (about 0.44M parameters:
  conv32-pool-conv64-conv64-pool-conv128-pool, BatchNorm, fc256, then the K-unit sigmoid latent
  layer and the classifier reading it) **from scratch** with AdamW + OneCycle, random translation by
  up to 2 px and horizontal flips, then a few epochs on the un-augmented training images
  (`--clean-epochs`). The 48-bit default model's first stage trains 45 epochs; the other bit
  lengths (and the ablation) used fewer (the `epochs` column) to fit the time budget on a shared
  2-core machine, so their rows understate what the longer run gives.
* **Measure**: QSMI reports 11-point interpolated mAP; this repo's headline number is non-interpolated
  AP over the full ranking. The two are not ordered in general (interpolation raises precision, but
  the 11-point mean gives recall 1.0, i.e. the last relevant item, a full 1/11 weight); the 11-point
  column is there for the comparison. Both use 10k test queries against the 60k training set.
* **Bit lengths**: QSMI used 12/24/36/48 bits, this repo 16/32/48/64; only 48 bits coincide.
* **Ties**: this repo breaks Hamming ties by database index; papers rarely state their rule, and
  with short codes many items tie, so the rule can move the numbers.

## Export check: PyTorch vs onnxruntime

Max abs difference on the first 2,000 test images (recorded by the trainer at export time):

| model | images | latent max abs diff | logits max abs diff | code bits differing |
|---|---|---|---|---|
{exports}

## Reproduce

From the repository root, after `apt-get install dataset-fashion-mnist` and
`pip install -r models/requirements-train.txt` (CPU is enough; a GPU is used when present; seeds are
fixed, so CPU reruns give the same models up to float non-determinism across machines):

```
{commands}
python -m models.ssdh.samples --fixtures   # refresh samples/fashion-mnist/expected_* after retraining
python -m models.ssdh.report               # this file
```

`bash models/run_all.sh` runs all of it in sequence. To re-evaluate a shipped file only:
`python -m models.ssdh.evaluate --model models/reference/ssdh-fmnist-48.onnx` (about a minute).
Training times above are wall-clock on a 2-core CPU machine shared with other builds.
"""

if __name__ == "__main__":
    main()

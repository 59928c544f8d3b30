"""Render a bench-dedup report (the JSON run.py writes) as a PNG next to it.

    python benches/dedup/plot.py docs/bench/dedup-2026-12-02.json   # -> docs/bench/dedup-2026-12-02.png

Left: single queries on one thread, milliseconds per query (log scale), per system and data set.
Right: batches, lookups per second on the report's threads (log scale). Every bar is a number
from the JSON; nothing is recomputed."""
from __future__ import annotations

import json
import os
import sys


def label(r):
    name = r["system"].replace("faiss-", "faiss\n") + (f"\n{r['config']}" if "config" in r else "")
    return name


def plot(report_path: str, out: str | None = None) -> str:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a bench machine
    import matplotlib.pyplot as plt

    with open(report_path) as f:
        rep = json.load(f)
    rows = rep["rows"]
    out = out or os.path.splitext(report_path)[0] + ".png"
    groups = sorted({(r["data"], r["variants"]) for r in rows if r["phase"] in ("single", "batch")})
    fig, axes = plt.subplots(1, 2, figsize=(15, 6))
    for ax, phase, key, unit in ((axes[0], "single", "median_ms", "ms per query (median), 1 thread"),
                                 (axes[1], "batch", "lookups_per_s", "lookups / s")):
        systems = []
        for r in rows:
            if r["phase"] == phase and (label(r), r["threads"]) not in systems:
                systems.append((label(r), r["threads"]))
        width = 0.8 / max(1, len(groups))
        for gi, (data, variants) in enumerate(groups):
            xs, ys = [], []
            for si, (name, threads) in enumerate(systems):
                for r in rows:
                    if (r["phase"] == phase and label(r) == name and r["threads"] == threads
                            and r["data"] == data and r["variants"] == variants):
                        xs.append(si + gi * width)
                        ys.append(r[key])
            bars = ax.bar(xs, ys, width, label=f"{data}, {variants} variant(s)")
            ax.bar_label(bars, fmt="%.3g", fontsize=7, rotation=90, padding=2)
        ax.set_xticks([i + width * (len(groups) - 1) / 2 for i in range(len(systems))])
        ax.set_xticklabels([f"{n}\n{t} thr" for n, t in systems], fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel(unit)
        ax.set_title(f"{phase} queries")
        ax.legend(fontsize=8)
    fig.suptitle(f"{rep['n']:,} x {rep['bits']}-bit codes, radius {rep['radius']}: {rep['cpu']} "
                 f"({rep['cores']} cores), one run")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(plot(p))

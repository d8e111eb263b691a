#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Markdown results table of scripts/synthetic_chain.sh from the `hesp eval` reports it writes.

Each report holds 4 x N runs, level-major (all N seeds of the 3-known level, then 5, 6, 8). One
row per method and openness level: AUROC / OSCR / ACC in percent, the mean over the seeds with
the standard deviation when there is more than one; then each method's mean over the levels.
Below the table: the linear probe of the frozen image tower and the closed-set zero-shot scores.
Standard library only."""
import json
import statistics
import sys
from pathlib import Path

METHODS = [("zeroshot", "zero-shot CLIP"), ("emoclip", "EmoCLIP zero-shot"),
           ("msp", "MSP baseline"), ("hesp-released", "HESP-released"),
           ("hesp-paper", "HESP-paper"), ("hesp-nodelta", "HESP-paper, no δ (ablation)")]
LEVELS = [3, 5, 6, 8]
METRICS = [("auroc", "AUROC"), ("oscr", "OSCR"), ("acc", "ACC")]
OPTIONAL = {"hesp-nodelta"}  # ablation rows, only in runs that make them


def cell(values):
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {statistics.stdev(values):.1f}"


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    runs = {}
    for key, _ in METHODS:
        path = out / f"{key}.eval.json"
        if not path.exists():
            if key in OPTIONAL:
                continue
            print(f"chain_table: {path} is missing", file=sys.stderr)
            return 1
        runs[key] = json.loads(path.read_text())["runs"]
    methods = [(key, label) for key, label in METHODS if key in runs]
    seeds = len(runs[METHODS[0][0]]) // len(LEVELS)
    for key, _ in methods:
        if seeds < 1 or len(runs[key]) != seeds * len(LEVELS):
            print(f"chain_table: {key} has {len(runs[key])} runs, expected {len(LEVELS)} levels x "
                  f"{max(seeds, 1)} seeds", file=sys.stderr)
            return 1

    what = "mean ± std over " + str(seeds) + " seeds" if seeds > 1 else "one seed"
    print(f"AUROC / OSCR / ACC in percent, {what}.\n")
    print("| known / unknown | method | AUROC | OSCR | ACC |")
    print("|---|---|---|---|---|")
    per_level = {}  # (method, metric) -> [level means]
    for i, known in enumerate(LEVELS):
        for key, label in methods:
            level_runs = runs[key][i * seeds:(i + 1) * seeds]
            cells = []
            for metric, _ in METRICS:
                values = [r["metrics"][metric] for r in level_runs]
                per_level.setdefault((key, metric), []).append(statistics.fmean(values))
                cells.append(cell(values))
            print(f"| {known} / {11 - known} | {label} | " + " | ".join(cells) + " |")
    for key, label in methods:
        print(f"| mean ± std of 4 levels | {label} | " + " | ".join(
            f"{statistics.fmean(per_level[(key, m)]):.1f} ± {statistics.stdev(per_level[(key, m)]):.1f}"
            for m, _ in METRICS) + " |")

    probe = out / "probe.json"
    if probe.exists():
        p = json.loads(probe.read_text())
        print(f"\nLinear probe of the frozen image tower (11 classes, chance "
              f"{100 / len(p['classes']):.1f} %): train {100 * p['train_accuracy']:.1f} %, "
              f"test {100 * p['test_accuracy']:.1f} %.")
    for pack, label in [("clip", "zero-shot CLIP"), ("emoclip", "EmoCLIP zero-shot")]:
        path = out / f"{pack}-closed.eval.json"
        if path.exists():
            m = json.loads(path.read_text())["runs"][0]["metrics"]
            print(f"Closed set, all 11 classes known, {label}: UAR {m['uar']:.1f}, "
                  f"WAR {m['war']:.1f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

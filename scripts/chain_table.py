#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Markdown results table of scripts/synthetic_chain.sh: one row per method and openness level
(AUROC / OSCR / ACC, percent), then each method's mean and standard deviation over the levels, from the `hesp eval`
reports the chain writes. Standard library only."""
import json
import sys
from pathlib import Path

METHODS = [("zeroshot", "zero-shot CLIP"), ("msp", "MSP baseline"),
           ("hesp-released", "HESP-released"), ("hesp-paper", "HESP-paper")]
LEVELS = [3, 5, 6, 8]
METRICS = [("auroc", "AUROC"), ("oscr", "OSCR"), ("acc", "ACC")]


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    reports = {}
    for key, _ in METHODS:
        path = out / f"{key}.eval.json"
        if not path.exists():
            print(f"chain_table: {path} is missing", file=sys.stderr)
            return 1
        reports[key] = json.loads(path.read_text())

    print("| known / unknown | method | AUROC | OSCR | ACC |")
    print("|---|---|---|---|---|")
    for i, known in enumerate(LEVELS):
        for key, label in METHODS:
            runs = reports[key]["runs"]
            if len(runs) != len(LEVELS):
                print(f"chain_table: {key} has {len(runs)} runs, expected {len(LEVELS)}",
                      file=sys.stderr)
                return 1
            m = runs[i]["metrics"]
            print(f"| {known} / {11 - known} | {label} | " +
                  " | ".join(f"{m[metric]:.1f}" for metric, _ in METRICS) + " |")
    for key, label in METHODS:
        summary = reports[key]["summary"]
        print(f"| mean ± std of 4 | {label} | " + " | ".join(
            f"{summary[metric]['mean']:.1f} ± {summary[metric]['std']:.1f}"
            for metric, _ in METRICS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

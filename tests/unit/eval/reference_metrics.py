# SPDX-License-Identifier: LGPL-2.1-or-later
"""Open-set metrics computed with numpy, written from the written description of the reference
evaluation (ARPL, as reused by HESP) rather than from our C++ code, so that test_open_set_metrics
can check the two against each other.

    reference_metrics.py CASES.json RESULTS.json

CASES.json: {"cases": [{"known": [...], "unknown": [...], "correct": [0/1 per known],
                        "predicted": [...], "labels": [...], "num_classes": K}, ...]}
RESULTS.json: {"results": [{"auroc", "auroc_pairs", "tnr_at_tpr95", "oscr", "acc", "uar",
                            "roc_fpr", "roc_tpr", "oscr_fpr", "oscr_ccr"}, ...]}
Percentages for the metrics, fractions for the curves.
"""
import json
import sys

import numpy as np


def sweep(known, unknown):
    """Rejects the lowest remaining score at each step; a known score goes before an equal
    unknown one."""
    k = np.sort(np.asarray(known, dtype=np.float64))
    u = np.sort(np.asarray(unknown, dtype=np.float64))
    tp = np.empty(len(k) + len(u) + 1, dtype=np.int64)
    fp = np.empty_like(tp)
    tp[0], fp[0] = len(k), len(u)
    i = j = 0
    for step in range(1, len(tp)):
        if i < len(k) and (j == len(u) or not u[j] < k[i]):
            i += 1
        else:
            j += 1
        tp[step], fp[step] = len(k) - i, len(u) - j
    return tp, fp


def roc(known, unknown):
    tp, fp = sweep(known, unknown)
    tpr = np.concatenate([[1.0], tp / len(known), [0.0]])
    fpr = np.concatenate([[1.0], fp / len(unknown), [0.0]])
    return fpr, tpr


def auroc(known, unknown):
    fpr, tpr = roc(known, unknown)
    trapz = getattr(np, "trapezoid", None) or np.trapz
    return 100.0 * -trapz(1.0 - fpr, tpr)


def auroc_pairs(known, unknown):
    """The same area as a probability: known strictly above unknown (ties count 0)."""
    k = np.asarray(known)[:, None]
    u = np.asarray(unknown)[None, :]
    return 100.0 * np.mean(k > u)


def tnr_at_tpr95(known, unknown):
    tp, fp = sweep(known, unknown)
    pos = np.argmin(np.abs(tp / len(known) - 0.95))
    return 100.0 * (1.0 - fp[pos] / len(unknown))


def oscr_curve(known, correct, unknown):
    x = np.concatenate([known, unknown]).astype(np.float64)
    is_correct = np.concatenate([np.asarray(correct, dtype=np.float64), np.zeros(len(unknown))])
    is_unknown = np.concatenate([np.zeros(len(known)), np.ones(len(unknown))])
    order = np.argsort(x, kind="stable")
    c_sorted = is_correct[order]
    u_sorted = is_unknown[order]
    n = len(x)
    ccr = np.zeros(n + 2)
    fpr = np.zeros(n + 2)
    for k in range(n - 1):
        ccr[k] = c_sorted[k + 1:].sum() / len(known)
        fpr[k] = u_sorted[k:].sum() / len(unknown)
    ccr[n + 1] = fpr[n + 1] = 1.0
    pts = sorted(zip(fpr.tolist(), ccr.tolist()), reverse=True)
    return [p[0] for p in pts], [p[1] for p in pts]


def oscr(known, correct, unknown):
    f, c = oscr_curve(known, correct, unknown)
    return 100.0 * sum((f[j] - f[j + 1]) * (c[j] + c[j + 1]) / 2.0 for j in range(len(f) - 1))


def closed_set(predicted, labels, num_classes):
    p = np.asarray(predicted)
    y = np.asarray(labels)
    acc = 100.0 * np.mean(p == y)
    recalls = [np.mean(p[y == c] == c) for c in range(num_classes) if np.any(y == c)]
    return acc, 100.0 * np.mean(recalls)


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    results = []
    for case in cases:
        known, unknown = case["known"], case["unknown"]
        fpr, tpr = roc(known, unknown)
        o_fpr, o_ccr = oscr_curve(known, case["correct"], unknown)
        acc, uar = closed_set(case["predicted"], case["labels"], case["num_classes"])
        results.append({
            "auroc": float(auroc(known, unknown)),
            "auroc_pairs": float(auroc_pairs(known, unknown)),
            "tnr_at_tpr95": float(tnr_at_tpr95(known, unknown)),
            "oscr": float(oscr(known, case["correct"], unknown)),
            "acc": float(acc),
            "uar": float(uar),
            "roc_fpr": fpr.tolist(),
            "roc_tpr": tpr.tolist(),
            "oscr_fpr": o_fpr,
            "oscr_ccr": o_ccr,
        })
    with open(sys.argv[2], "w") as f:
        json.dump({"results": results}, f)


if __name__ == "__main__":
    main()

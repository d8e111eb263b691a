#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the include structure of the core library.

An *area* is a folder directly below src/ (models, nets, train, clip, ...). Area A depends on
area B when a file in A includes "B/...". The check fails when
  - the area graph has a cycle (each area must be understandable without the ones that use it),
  - inference code reaches training code: no area that the elements run (everything but train/
    and the areas only training uses) may include "train/...", directly or through another area,
  - a public header in include/hesp/ includes a torch or OpenCV header (the public API is
    torch-free and OpenCV-free).

Usage: check_layers.py [REPO]   (default: the repository this file is in)
Prints the area graph and every violation; exit status 1 on any violation.
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]', re.M)
SOURCE_SUFFIXES = {".h", ".hpp", ".cpp", ".cc", ".inc"}
# Areas whose code only training runs; everything else is on the inference side.
TRAINING_AREAS = {"train"}
PUBLIC_FORBIDDEN = ("torch/", "ATen/", "c10/", "opencv2/")


def area_graph(src: pathlib.Path):
    areas = sorted(p.name for p in src.iterdir() if p.is_dir())
    edges = {a: {} for a in areas}  # area -> {dependency: first file that includes it}
    for area in areas:
        for f in sorted((src / area).rglob("*")):
            if f.suffix not in SOURCE_SUFFIXES or not f.is_file():
                continue
            for inc in INCLUDE.findall(f.read_text(errors="replace")):
                head = inc.split("/", 1)[0]
                if "/" in inc and head in edges and head != area:
                    edges[area].setdefault(head, f"{f.relative_to(src.parent)} includes {inc}")
    return edges


def find_cycles(edges):
    """Every elementary cycle found by a depth-first search, each reported once."""
    cycles, seen = [], set()

    def visit(node, path, on_path):
        for nxt in sorted(edges[node]):
            if nxt in on_path:
                cycle = path[path.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cycle)
            else:
                visit(nxt, path + [nxt], on_path | {nxt})

    for start in sorted(edges):
        visit(start, [start], {start})
    return cycles


def reaches(edges, start, targets):
    """Path from start to any of targets, or None."""
    stack, parent = [start], {start: None}
    while stack:
        node = stack.pop()
        if node in targets and node != start:
            path = [node]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])
            return list(reversed(path))
        for nxt in edges[node]:
            if nxt not in parent:
                parent[nxt] = node
                stack.append(nxt)
    return None


def main():
    repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
    src = repo / "src"
    edges = area_graph(src)
    problems = []

    for a in sorted(edges):
        print(f"{a:>10} -> {', '.join(sorted(edges[a])) or '(nothing)'}")

    for cycle in find_cycles(edges):
        detail = "; ".join(edges[x][y] for x, y in zip(cycle, cycle[1:]))
        problems.append(f"include cycle {' -> '.join(cycle)} ({detail})")

    training = {a for a in edges if a in TRAINING_AREAS}
    # Areas that only training code uses count as training areas too.
    users = {a: {b for b in edges if a in edges[b]} for a in edges}
    changed = True
    while changed:
        changed = False
        for a in edges:
            if a not in training and users[a] and users[a] <= training:
                training.add(a)
                changed = True
    for a in sorted(set(edges) - training):
        path = reaches(edges, a, TRAINING_AREAS)
        if path:
            detail = "; ".join(edges[x][y] for x, y in zip(path, path[1:]))
            problems.append(f"inference area '{a}' reaches training code via "
                            f"{' -> '.join(path)} ({detail})")

    for header in sorted((repo / "include").rglob("*.h")):
        for inc in INCLUDE.findall(header.read_text(errors="replace")):
            if inc.startswith(PUBLIC_FORBIDDEN):
                problems.append(f"public header {header.relative_to(repo)} includes <{inc}>")

    for p in problems:
        print("FAIL:", p)
    print("ok: no include cycle between src/ areas, inference code includes no training code"
          if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

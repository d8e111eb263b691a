#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Makes tests/data/demo_faces.json: the faces of the six photos `hesp demo-video` films.

The faceapi detector runs on each full-resolution photo at three settings (input 1024 with
sensitivity 0.7, 608 and 800 with 0.8); boxes found by at least two runs (IoU >= 0.5) are averaged,
the rest dropped, then the hand edits below are applied. Ids number the faces left to right.
The result was checked by eye (see the file's "check" field); rerun only to reproduce it.

Usage: demo_faces.py HESP PHOTOS_DIR OUTPUT
"""
import hashlib
import json
import pathlib
import re
import subprocess
import sys
import tempfile

RUNS = [(1024, 0.7), (608, 0.8), (800, 0.8)]
# Faces every run missed, boxed by hand (photo pixels x, y, width, height).
HAND_ADDED = {"sample2.jpg": [[360, 190, 215, 222]]}  # the profile face on the left


def iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def detect(hesp, photo, size, sensitivity, tmp):
    out = pathlib.Path(tmp) / "faces.json"
    subprocess.run([hesp, "faces", "-q", str(photo), "--detector", "faceapi",
                    "--detector-input-size", str(size), "--sensitivity", str(sensitivity),
                    "--detection-interval", "1", "--min-face-size", "8", "-o", str(out)],
                   check=True)
    frame = json.loads(out.read_text().splitlines()[0])
    return [[o["x"], o["y"], o["w"], o["h"]] for o in frame["objects"]], frame["resolution"]


def main(hesp, photos_dir, output):
    photos = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(1, 7):
            photo = pathlib.Path(photos_dir) / f"sample{i}.jpg"
            clusters, resolution = [], None
            for size, sensitivity in RUNS:
                boxes, resolution = detect(hesp, photo, size, sensitivity, tmp)
                for b in boxes:
                    for c in clusters:
                        if iou(c[0], b) >= 0.5:
                            c.append(b)
                            break
                    else:
                        clusters.append([b])
            faces = [[round(sum(b[k] for b in c) / len(c)) for k in range(4)]
                     for c in clusters if len(c) >= 2]
            faces += HAND_ADDED.get(photo.name, [])
            faces.sort(key=lambda b: b[0] + b[2] / 2)
            photos.append({
                "file": photo.name, "width": resolution["width"], "height": resolution["height"],
                "sha256": hashlib.sha256(photo.read_bytes()).hexdigest(),
                "faces": [{"id": k + 1, "box": b} for k, b in enumerate(faces)]})
    doc = json.loads(pathlib.Path(output).read_text()) if pathlib.Path(output).exists() else {}
    doc["photos"] = photos
    text = json.dumps(doc, indent=1)
    # One line per face: a box on four lines is hard to compare with a drawing.
    text = re.sub(r"\{\s+\"id\": (\d+),\s+\"box\": \[\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\s*\]\s*\}",
                  r'{"id": \1, "box": [\2, \3, \4, \5]}', text)
    pathlib.Path(output).write_text(text + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])

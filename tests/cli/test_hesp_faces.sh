#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp faces` on the real face video: one JSON line per frame in hespmetaconvert's layout (checked
# against its schema), faces with track ids, the input's URI as source, the same lines with -o.
#   test_hesp_faces.sh HESP_EXECUTABLE SCHEMA PYTHON3
# Exits 77 (skipped) without the video in the cache folder.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
schema="$2"
python="$3"
movie="${HESP_CACHE_DIR:-}/kphotoalbum/movie.avi"
require_files "$movie is missing" "$movie"

if ! "$hesp" faces -q "$movie" >"$tmp/stdout.jsonl" 2>"$tmp/err"; then
  fail "faces to stdout:"; cat "$tmp/err"
fi
if ! "$hesp" faces -q -o "$tmp/file.jsonl" "$movie" >"$tmp/out" 2>"$tmp/err"; then
  fail "faces -o:"; cat "$tmp/err"
fi
[ -s "$tmp/out" ] && fail "faces -o also wrote to stdout: $(head -c 200 "$tmp/out")"
cmp -s "$tmp/stdout.jsonl" "$tmp/file.jsonl" || fail "-o and stdout differ"

if ! "$python" - "$tmp/stdout.jsonl" "$schema" "$movie" <<'PY'; then
import json, os, sys
lines = open(sys.argv[1]).read().splitlines()
schema = json.load(open(sys.argv[2]))
uri = "file://" + os.path.abspath(sys.argv[3])
try:
    import jsonschema
    validator = jsonschema.Draft202012Validator(schema)
except ImportError:
    validator = None
bad = 0
frames = [json.loads(l) for l in lines]
if len(frames) < 25:
    print(f"{len(frames)} frames"); bad += 1
ids = set()
faces = 0
last = -1
for i, f in enumerate(frames):
    if validator:
        for e in validator.iter_errors(f):
            print(f"frame {i}: {e.message}"); bad += 1
    if sorted(f) != ["objects", "resolution", "source", "tags", "timestamp"]:
        print(f"frame {i}: keys {sorted(f)}"); bad += 1
    if f["source"] != uri or f["tags"] != {}:
        print(f"frame {i}: source {f['source']!r}, tags {f['tags']}"); bad += 1
    if not isinstance(f["timestamp"], int) or f["timestamp"] <= last:
        print(f"frame {i}: timestamp {f['timestamp']} after {last}"); bad += 1
    last = f["timestamp"] if isinstance(f["timestamp"], int) else last
    for o in f["objects"]:
        faces += 1
        ids.add(o.get("id"))
        if o["roi_type"] != "face" or o["detection"]["label"] != "face" or "expression" in o:
            print(f"frame {i}: object {o}"); bad += 1
        w, h = f["resolution"]["width"], f["resolution"]["height"]
        if not (0 <= o["x"] and o["x"] + o["w"] <= w and 0 <= o["y"] and o["y"] + o["h"] <= h):
            print(f"frame {i}: box outside {w}x{h}: {o}"); bad += 1
if faces == 0 or None in ids:
    print(f"{faces} faces, ids {sorted(ids, key=str)}"); bad += 1
print(f"{len(frames)} frames, {faces} faces, {len(ids)} tracks")
sys.exit(1 if bad else 0)
PY
  fail "the JSON lines"
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs docs/examples/print_expressions.py on the first seconds of the demo video and checks that it
# printed faces with expressions and clips with their pixel arrays.
#   test_python_example.sh EXAMPLE
set -euo pipefail
example="$1"
video="$HESP_CACHE_DIR/demo/demo.mp4"
pack="$HESP_CACHE_DIR/models/faceapi-expression.safetensors"
for f in "$video" "$pack"; do
  [ -s "$f" ] || { echo "SKIP: $f missing (scripts/setup.sh makes it)"; exit 77; }
done
# PyGObject may live only in the system interpreter when another python3 comes first on PATH.
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import gi; gi.require_version("Gst", "1.0")' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
[ -n "$python" ] || { echo "SKIP: no python3 with PyGObject and GStreamer's typelib"; exit 77; }

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# 30 frames (1.2 s): the first results (first-clip-frames) and the first full clips both arrive.
if ! timeout 240 "$python" "$example" "$video" --max-frames 30 --model "$pack" >"$out"; then
  tail -n 20 "$out"
  echo "FAIL: the example failed"
  exit 1
fi
head -n 5 "$out"
grep '^clip ' "$out" | head -n 3
tail -n 1 "$out"
fail() { echo "FAIL: $*"; exit 1; }
grep -qE '^face .* track=[0-9]+ box=[0-9]+,[0-9]+,[0-9]+x[0-9]+ ' "$out" || fail "no face lines"
grep -qE '^face .* expression=[a-z]+ confidence=[01]\.[0-9]{2} unknown=(yes|no)$' "$out" ||
  fail "no face with an expression"
grep -qE '^clip .* track=[0-9]+ frames=[0-9]+ real=[0-9]+ pixels=\([0-9]+, [0-9]+, [0-9]+, 3\)' \
  "$out" || fail "no clip lines"
# The shape must agree with the frame count printed beside it.
grep -E '^clip ' "$out" | awk '{
    split($0, a, "frames="); split(a[2], n, " ");
    split($0, b, "pixels=\\("); split(b[2], s, ",");
    if (n[1] != s[1]) { print "FAIL: frames " n[1] " but pixels of " s[1]; exit 1 } }'
grep -qE '^[0-9]+ frames$' "$out" || fail "no frame count"
echo "ok: $(grep -c '^face ' "$out") face lines, $(grep -c '^clip ' "$out") clip lines"

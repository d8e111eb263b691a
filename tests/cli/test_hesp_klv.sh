#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# In-band metadata: `hesp run DEMO -o x.ts` muxes each frame's JSON into the transport stream as
# KLV, and `hesp read-metadata x.ts` prints exactly the lines `--json` wrote, one per frame (450
# for the demo video). Files that hold no such metadata fail with one line that says why.
#   test_hesp_klv.sh HESP_EXECUTABLE PYTHON3
# Exits 77 (skipped) without the demo video in the cache folder.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
python="$2"
demo="${HESP_CACHE_DIR:-}/demo/demo.mp4"
require_files "$demo is missing" "$demo"

"$hesp" run -q -o "$tmp/x.ts" --json "$tmp/x.jsonl" || fail "hesp run -o x.ts: exit status $?"
"$hesp" read-metadata "$tmp/x.ts" >"$tmp/read.jsonl" || fail "read-metadata: exit status $?"
lines=$(wc -l <"$tmp/read.jsonl")
[ "$lines" -eq 450 ] || fail "read-metadata gave $lines lines, expected 450"
if cmp -s "$tmp/read.jsonl" "$tmp/x.jsonl"; then
  echo "ok   read-metadata: $lines lines, equal to --json"
else
  fail "read-metadata differs from --json:"; diff "$tmp/read.jsonl" "$tmp/x.jsonl" | head -5
fi
faces=$(grep -c '"roi_type":"face"' "$tmp/read.jsonl")
[ "$faces" -gt 0 ] || fail "no frame of the demo video has a face in the metadata"

# The faces attached back to the decoded video (hespklvdecode) and written by hespmetaconvert:
# the same objects for every frame; only the timestamps (the transport stream's) and the source
# (the .ts file) differ.
gst-launch-1.0 -q filesrc location="$tmp/x.ts" ! tsdemux name=d \
  d. ! queue ! h264parse ! avdec_h264 ! dec.sink \
  d. ! queue ! meta/x-klv ! dec.klv_sink \
  hespklvdecode name=dec ! hespmetaconvert add-empty-results=true file-path="$tmp/decoded.jsonl" ! \
  fakesink || fail "decoding x.ts with hespklvdecode failed"
if "$python" - "$tmp/x.jsonl" "$tmp/decoded.jsonl" <<'PY'; then
import json, sys
sent = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(got) == len(sent), f"{len(got)} decoded frames, {len(sent)} written"
for i, (a, b) in enumerate(zip(sent, got)):
    for frame in (a, b):
        del frame["timestamp"], frame["source"]
    assert a == b, f"frame {i}: {json.dumps(b)[:200]} != {json.dumps(a)[:200]}"
PY
  echo "ok   hespklvdecode: the faces of all $lines frames back on the decoded video"
else
  fail "hespklvdecode: decoded faces differ"
fi

# The same file with the BER length of its first KLV packet made indefinite (0x80).
"$python" - "$tmp/x.ts" "$tmp/corrupt.ts" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
key = bytes.fromhex("cd6523352bda4f729791146da89e4999")
at = data.find(key)
assert at >= 0, "no KLV key in the file"
data[at + 16] = 0x80
open(sys.argv[2], "wb").write(data)
PY
expect_failure corrupt-packet "indefinite BER length" "$hesp" read-metadata "$tmp/corrupt.ts"
expect_failure missing-file "/nonexistent/x.ts" "$hesp" read-metadata /nonexistent/x.ts
expect_failure not-mpegts "not an MPEG transport stream" "$hesp" read-metadata "$demo"
head -c 20000 /dev/urandom >"$tmp/noise.ts"
expect_failure random-bytes "$tmp/noise.ts" "$hesp" read-metadata "$tmp/noise.ts"
# An MPEG-TS with video only: the annotated video of `hesp run` without KLV.
gst-launch-1.0 -q filesrc location="$tmp/x.ts" ! tsdemux ! h264parse ! mpegtsmux ! \
  filesink location="$tmp/video-only.ts" || fail "could not write a TS without KLV"
expect_failure no-klv-stream "no KLV metadata stream" "$hesp" read-metadata "$tmp/video-only.ts"
exit $((failures > 0))

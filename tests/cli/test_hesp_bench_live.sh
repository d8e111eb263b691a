#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp bench live` with the default pack on the first 50 frames (2 s) of the demo video: the
# report's lines and JSON fields are there and every frame sent arrived. No timing is asserted.
# Then its one-line failures: a video that is not an H.264 MP4, a UDP port in use, an option of
# the newer hespinfer on a build without it (when that is the case).
#   test_hesp_bench_live.sh HESP_EXECUTABLE PYTHON3
# Exits 77 (skipped) without the demo video or the default pack in the cache folder.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
python="$2"
demo="${HESP_CACHE_DIR:-}/demo/demo.mp4"
pack="${HESP_CACHE_DIR:-}/models/faceapi-expression.safetensors"
movie="${HESP_CACHE_DIR:-}/kphotoalbum/movie.avi"
require_files "the demo video or the default pack is missing (run scripts/setup.sh)" "$demo" "$pack"

if ! timeout 120 "$hesp" bench live --frames 50 --json "$tmp/live.json" >"$tmp/out" 2>"$tmp/err"; then
  fail "bench live:"; cat "$tmp/err"
fi
cat "$tmp/out"
for field in "frames sent" "frames received" "rtp packets sent / received" "last frame lag" \
  "result age p50 / p95" "faces with expression" "clips into hespinfer"; do
  grep -q "^$field " "$tmp/out" || fail "the report has no '$field' line"
done

if ! "$python" - "$tmp/live.json" <<'PY'; then
import json, sys
r = json.load(open(sys.argv[1]))
bad = 0
def check(ok, what):
    global bad
    if not ok:
        print("bad:", what); bad += 1
for k in ["video", "model", "port", "frames_sent", "send_s", "frames_received",
          "rtp_packets_sent", "rtp_packets_received", "last_frame_lag_s",
          "result_age_ms", "faces", "faces_with_expression", "expression_fraction", "clips_in",
          "infer_stats", "infer_properties"]:
    check(k in r, f"no field {k}")
if bad:
    sys.exit(1)
check(r["frames_sent"] == 50, f"frames_sent {r['frames_sent']}")
check(r["frames_received"] == r["frames_sent"],
      f"frames_received {r['frames_received']} != frames_sent {r['frames_sent']}")
check(r["rtp_packets_received"] == r["rtp_packets_sent"] > 0,
      f"rtp packets {r['rtp_packets_received']} of {r['rtp_packets_sent']}")
check(isinstance(r["last_frame_lag_s"], float), "last_frame_lag_s")
age = r["result_age_ms"]
check(set(age) == {"count", "p50", "p95"}, f"result_age_ms {age}")
if age.get("count"):
    check(age["p50"] <= age["p95"], f"result_age_ms {age}")
check(0 <= r["faces_with_expression"] <= r["faces"], "faces_with_expression")
f = r["expression_fraction"]
check(f is None if r["faces"] == 0 else 0 <= f <= 1, f"expression_fraction {f}")
s = r["infer_stats"] or {}
for k in ["clips-queued", "clips-run", "clips-dropped", "clips-dropped-superseded",
          "clips-dropped-queue-full", "clips-dropped-flush", "frames-encoded",
          "frames-cached", "mode"]:
    check(k in s, f"infer_stats has no {k}")
# The source is live, so hespinfer's auto schedule runs the model beside the stream, and every
# clip it was given was run or counted as dropped by the end.
check(s.get("mode") == "async", f"mode {s.get('mode')}")
check(s.get("clips-run", 0) + s.get("clips-dropped", 0) == s.get("clips-queued", -1),
      f"clips run {s.get('clips-run')} + dropped {s.get('clips-dropped')} != queued {s.get('clips-queued')}")
sys.exit(1 if bad else 0)
PY
  fail "the JSON report"
fi

if [ -f "$movie" ]; then
  expect_failure "not an H.264 MP4" "MP4" timeout 60 "$hesp" bench live --video "$movie"
fi
# A port held by another socket (the holder sleeps until it is killed).
"$python" -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$tmp/port" 2>/dev/null &
holder=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
# GST_DEBUG=0: udpsrc also logs the failed bind as an ERROR line, which is no part of the test.
expect_failure "port in use" "UDP port $(cat "$tmp/port")" \
  env GST_DEBUG=0 timeout 60 "$hesp" bench live --frames 10 --port "$(cat "$tmp/port")"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp run --publish URI`: a bad URI is one line on stderr and a non-zero exit before anything
# runs; file:// appends the same frames the --json file gets; mqtt:// reaches a subscriber of a
# broker this script starts on 127.0.0.1 (and stops; every step is time-limited).
#   test_hesp_publish.sh HESP_EXECUTABLE
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
broker_pid=""
sub_pid=""
cleanup() {
  [ -z "$sub_pid" ] || kill "$sub_pid" 2>/dev/null
  [ -z "$broker_pid" ] || kill "$broker_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# 30 frames without faces: every frame is still published (hesp run adds empty results).
timeout 60 gst-launch-1.0 -q videotestsrc num-buffers=30 ! video/x-raw,width=320,height=240 ! \
  x264enc speed-preset=ultrafast ! mp4mux ! filesink location="$tmp/clip.mp4" || {
  echo "FAIL could not make the test clip"; exit 1; }

run=("$hesp" run -q --no-video --json "$tmp/out.jsonl")
for uri in "ftp://127.0.0.1:21/t" "mqtt://127.0.0.1/t" "mqtt://127.0.0.1:1883" \
  "mqtt://127.0.0.1:1883/" "mqtt://a:1,b:2/t" "kafka://a:1,b/t" "kafka://h:99999/t" \
  "file://relative.jsonl" "127.0.0.1:1883/t"; do
  expect_failure "bad-uri $uri" "--publish '$uri': expected mqtt://" "${run[@]}" --publish "$uri" \
    "$tmp/clip.mp4"
done

timeout 120 "${run[@]}" --publish "file://$tmp/pub.jsonl" "$tmp/clip.mp4" || fail "file: exit status $?"
timeout 120 "${run[@]}" --publish "file://$tmp/pub.jsonl" "$tmp/clip.mp4" || fail "file: exit status $?"
[ "$(wc -l <"$tmp/out.jsonl")" -eq 30 ] || fail "--json has $(wc -l <"$tmp/out.jsonl") lines, not 30"
# Appended: two runs, 60 lines, each run's lines the --json file's.
[ "$(wc -l <"$tmp/pub.jsonl")" -eq 60 ] || fail "file: $(wc -l <"$tmp/pub.jsonl") lines, not 60"
tail -n 30 "$tmp/pub.jsonl" | cmp -s - "$tmp/out.jsonl" || fail "file: the published lines differ from --json"

if ! command -v mosquitto >/dev/null || ! command -v mosquitto_sub >/dev/null; then
  echo "SKIP: mosquitto and mosquitto-clients are not installed"
  exit $((failures > 0 ? 1 : 77))
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 50); do
  mosquitto_pub -h 127.0.0.1 -p "$port" -t ping -m x 2>/dev/null && break
  sleep 0.1
done
timeout 90 mosquitto_sub -h 127.0.0.1 -p "$port" -t hesp/cli -q 1 -C 30 >"$tmp/sub.jsonl" &
sub_pid=$!
sleep 0.5  # subscribed before the first frame
timeout 120 "${run[@]}" --publish "mqtt://127.0.0.1:$port/hesp/cli" "$tmp/clip.mp4" ||
  fail "mqtt: exit status $?"
wait "$sub_pid" || fail "mqtt: the subscriber did not get 30 messages"
sub_pid=""
cmp -s "$tmp/sub.jsonl" "$tmp/out.jsonl" || fail "mqtt: the received messages differ from --json"
[ "$failures" -eq 0 ] && echo "ok   file:// and mqtt:// delivered all 30 frames in order"
exit $((failures > 0))

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one pipelines/*.pipeline file to EOS with gst-launch-1.0. Placeholders: ${INPUT} (a real
# face video), ${OUTPUT_DIR} (a fresh temporary folder), ${PORT} (a free UDP port). Live sources
# are swapped for test sources by the substitutions in the file's "# test:" lines (sed
# expressions). Other lines the runner reads:
#   # expect-file: FILE...         each FILE must exist and not be empty afterwards
#   # test-sender: PIPELINE        a live test: the pipeline is started first and runs until
#                                  PIPELINE (a sender, e.g. ... ! udpsink port=${PORT} sync=true)
#                                  has run to its end; then it gets EOS. Every step is time-limited.
#   run_pipelines.sh FILE INPUT_VIDEO
set -euo pipefail
file="$1"
input="$2"
if [ ! -f "$input" ]; then
  echo "SKIP: test video $input missing (run scripts/setup.sh)"
  exit 77
fi
out="$(mktemp -d)"
receiver_pid=""
cleanup() {
  if [ -n "$receiver_pid" ]; then kill -KILL "$receiver_pid" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT

# A UDP port nothing is bound to (the kernel's choice), else one at random.
free_port() {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 30000))
}
port=""
sender="$(sed -n 's/^# test-sender: //p' "$file")"
[ -z "$sender" ] || port="$(free_port)"

expand() {
  local s="$1"
  s="${s//\$\{INPUT\}/$input}"
  s="${s//\$\{OUTPUT_DIR\}/$out}"
  s="${s//\$\{PORT\}/$port}"
  printf '%s' "$s"
}

line="$(grep -v '^#' "$file" | grep -v '^[[:space:]]*$' | tr '\n' ' ')"
while IFS= read -r expr; do
  line="$(printf '%s' "$line" | sed -e "$expr")"
done < <(sed -n 's/^# test: //p' "$file")
line="$(expand "$line")"

if [ -z "$sender" ]; then
  echo "gst-launch-1.0 -e $line"
  # shellcheck disable=SC2086
  timeout 600 gst-launch-1.0 -e $line
else
  sender="$(expand "$sender")"
  log="$out/receiver.log"
  echo "receiver: gst-launch-1.0 -e $line"
  # The receiver ends on SIGINT (-e: with EOS first), sent once by this script, which kills it
  # when it does not end in time. (Not under `timeout`: that sends the signal a second time, to its
  # process group, and gst-launch dies of a second SIGINT before its EOS has come through.)
  # shellcheck disable=SC2086
  gst-launch-1.0 -e $line >"$log" 2>&1 &
  receiver_pid=$!
  # The receiver is ready once it is PLAYING (the model is loaded by then).
  for _ in $(seq 300); do
    grep -q "Setting pipeline to PLAYING" "$log" && break
    kill -0 "$receiver_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "Setting pipeline to PLAYING" "$log"; then
    cat "$log"
    echo "the receiver did not start"
    exit 1
  fi
  echo "sender: gst-launch-1.0 $sender"
  # shellcheck disable=SC2086
  if ! timeout -k 5 30 gst-launch-1.0 -q $sender; then
    cat "$log"
    echo "the sender failed or did not finish in 30 s"
    exit 1
  fi
  # Frames still on their way (jitter buffer, decoder, model) get two seconds.
  sleep 2
  kill -INT "$receiver_pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$receiver_pid" 2>/dev/null || break
    sleep 0.1
  done
  stuck=0
  if kill -0 "$receiver_pid" 2>/dev/null; then
    kill -KILL "$receiver_pid" 2>/dev/null || true
    stuck=1
  fi
  status=0
  wait "$receiver_pid" || status=$?
  receiver_pid=""
  cat "$log"
  if [ "$stuck" -eq 1 ]; then
    echo "the receiver did not stop within 15 s of its interrupt"
    exit 1
  fi
  if [ "$status" -ne 0 ]; then
    echo "the receiver failed (exit status $status)"
    exit 1
  fi
fi
if [ -n "$(sed -n 's/^# expect-file: //p' "$file")" ]; then
  for f in $(sed -n 's/^# expect-file: //p' "$file"); do
    f="$(expand "$f")"
    [ -s "$f" ] || { echo "expected output $f is missing or empty"; exit 1; }
    case "$f" in *.jsonl) echo "$f: $(wc -l <"$f") lines" ;; esac
  done
fi

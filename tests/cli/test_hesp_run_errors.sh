#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp run` and `hesp faces` on bad input exit non-zero with exactly one line on stderr that names
# the input; an output that cannot be written is named as the output, with the system's reason.
#   test_hesp_run_errors.sh HESP_EXECUTABLE
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"

echo "just some text" >"$tmp/notes.mp4"
: >"$tmp/empty.mp4"
head -c 20000 /dev/urandom >"$tmp/noise.avi"
run=("$hesp" run -q -o "$tmp/out.mp4" --json "$tmp/out.jsonl")
expect_failure missing-file "/nonexistent/video.mp4" "${run[@]}" /nonexistent/video.mp4
expect_failure text-file "$tmp/notes.mp4" "${run[@]}" "$tmp/notes.mp4"
expect_failure empty-file "$tmp/empty.mp4" "${run[@]}" "$tmp/empty.mp4"
expect_failure random-bytes "$tmp/noise.avi" "${run[@]}" "$tmp/noise.avi"
expect_failure folder "$tmp" "${run[@]}" "$tmp"
expect_failure missing-model "/nonexistent/pack.safetensors" "${run[@]}" --model /nonexistent/pack.safetensors "$tmp/notes.mp4"
expect_failure bad-option "--detection-interval" "${run[@]}" --detection-interval 0 "$tmp/notes.mp4"
expect_failure faces-missing "/nonexistent/video.mp4" "$hesp" faces -q /nonexistent/video.mp4
expect_failure faces-text-file "'$tmp/notes.mp4': " "$hesp" faces -q "$tmp/notes.mp4"
expect_failure faces-unwritable "cannot write '/proc/x.jsonl': No such file or directory" \
  "$hesp" faces -q -o /proc/x.jsonl "$tmp/notes.mp4"
# A bad input and an output that cannot be written: the output is reported, as the output, and
# the check leaves no file behind.
rm -f "$tmp/out.jsonl"
expect_failure output-unwritable "cannot write output video '/proc/x.mp4': No such file or directory" \
  "$hesp" run -q -o /proc/x.mp4 --json "$tmp/out.jsonl" "$tmp/notes.mp4"
if [ -e "$tmp/out.jsonl" ]; then
  echo "FAIL output-unwritable left $tmp/out.jsonl behind"; failures=$((failures + 1))
fi
expect_failure output-folder "cannot write output video '$tmp': Is a directory" \
  "$hesp" run -q -o "$tmp" --json "$tmp/out.jsonl" "$tmp/notes.mp4"
expect_failure json-unwritable "cannot write JSON file '/proc/x.jsonl': No such file or directory" \
  "$hesp" run -q --no-video --json /proc/x.jsonl "$tmp/notes.mp4"
exit $((failures > 0))

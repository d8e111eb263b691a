#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp run` on bad input exits non-zero with exactly one line on stderr that names the input.
#   test_hesp_run_errors.sh HESP_EXECUTABLE
set -u
hesp="$1"
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"

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
exit $((failures > 0))

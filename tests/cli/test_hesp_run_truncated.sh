#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp run` on a truncated MP4 (the demo video cut after 100 kB: no index, the demuxer gives up)
# always ends, with one line on stderr naming the input and a non-zero exit status. The race that
# used to hang it showed in about one run of twelve, so it runs many times, each under a timeout.
# Then a truncated AVI, on which the old tool waited forever every time.
#   test_hesp_run_truncated.sh HESP_EXECUTABLE [RUNS]
# Exits 77 (skipped) without the demo video in the cache folder.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
runs="${2:-16}"
demo="${HESP_CACHE_DIR:-}/demo/demo.mp4"
require_files "$demo is missing" "$demo"
head -c 100000 "$demo" >"$tmp/t.mp4"
for i in $(seq 1 "$runs"); do
  for args in "--no-video" "-o $tmp/out.mp4"; do
    # shellcheck disable=SC2086
    timeout 60 "$hesp" run -q $args --json "$tmp/out.jsonl" "$tmp/t.mp4" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq 124 ]; then
      echo "FAIL run $i ($args): no end after 60 s"; failures=$((failures + 1)); continue
    fi
    if [ "$rc" -eq 0 ]; then
      echo "FAIL run $i ($args): exit status 0"; failures=$((failures + 1)); continue
    fi
    if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qF "'$tmp/t.mp4'" "$tmp/err"; then
      echo "FAIL run $i ($args): stderr:"; cat "$tmp/err"; failures=$((failures + 1)); continue
    fi
  done
done
echo "$runs runs each with and without video; last error: $(cat "$tmp/err")"

# A truncated AVI: the demuxer gives up without an error and no frame ever comes. `hesp faces`
# and `hesp run` notice that nothing flows and end (GStreamer itself may log a warning first).
movie="${HESP_CACHE_DIR:-}/kphotoalbum/movie.avi"
if [ -f "$movie" ]; then
  head -c 3000 "$movie" >"$tmp/t.avi"
  for cmd in "faces -q" "run -q --no-video --json $tmp/out.jsonl"; do
    # shellcheck disable=SC2086
    timeout 90 "$hesp" $cmd "$tmp/t.avi" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
      echo "FAIL truncated AVI ($cmd): exit status $rc"; failures=$((failures + 1)); continue
    fi
    if ! tail -n 1 "$tmp/err" | grep -qF "hesp: '$tmp/t.avi': "; then
      echo "FAIL truncated AVI ($cmd): stderr:"; cat "$tmp/err"; failures=$((failures + 1))
      continue
    fi
    echo "ok   truncated AVI ($cmd): $(tail -n 1 "$tmp/err")"
  done
fi
exit $((failures > 0))

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Output lost on standard output is a failure: `hesp info --json`, `hesp faces` and `hesp eval`
# writing to /dev/full exit non-zero with one line on stderr; the same commands succeed into
# /dev/null.
#   test_hesp_stdout_errors.sh HESP_EXECUTABLE EVAL_DATA_DIR
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
data="$2"
if [ ! -w /dev/full ]; then
  echo "SKIP: no /dev/full"
  exit 77
fi

check() {  # name, command...
  local name="$1"
  shift
  if ! "$@" >/dev/null 2>"$tmp/err"; then fail "$name into /dev/null:"; cat "$tmp/err"; return; fi
  "$@" >/dev/full 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq 0 ]; then fail "$name into /dev/full: exit status 0"; return; fi
  if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then fail "$name: stderr:"; cat "$tmp/err"; return; fi
  grep -qF "standard output: No space left on device" "$tmp/err" ||
    { fail "$name: stderr: $(cat "$tmp/err")"; return; }
  echo "ok   $name: $(cat "$tmp/err")"
}

check eval "$hesp" eval -p "$data/split1.json"
pack="${HESP_CACHE_DIR:-}/models/faceapi-expression.safetensors"
if [ -f "$pack" ]; then
  check info-json "$hesp" info --json "$pack"
  check info "$hesp" info "$pack"
else
  echo "skip info: $pack is missing"
fi
movie="${HESP_CACHE_DIR:-}/kphotoalbum/movie.avi"
if [ -f "$movie" ]; then
  check faces "$hesp" faces -q "$movie"
else
  echo "skip faces: $movie is missing"
fi
exit $((failures > 0))

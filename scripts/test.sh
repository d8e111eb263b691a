#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test suite of the build (unit, elements, data, pipelines, memcheck) and ends with
# one summary line "N passed, N failed, N skipped".
#   scripts/test.sh                 # all suites
#   scripts/test.sh --suite unit    # extra arguments go to `meson test`
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-build}"
cd "$repo"
if [ ! -f "$build/build.ninja" ]; then
  echo "no build in '$build': run scripts/setup.sh first" >&2
  exit 1
fi
log="$(mktemp)"
meson test -C "$build" --print-errorlogs --num-processes "${HESP_TEST_JOBS:-2}" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
count() { awk -v key="$1" -F: '$1 == key { gsub(/ /, "", $2); print $2 }' "$log" | tail -n 1; }
ok=$(count "Ok"); fail=$(count "Fail"); skipped=$(count "Skipped"); timeout=$(count "Timeout")
xpass=$(count "Unexpected Pass")
rm -f "$log"
failed=$(( ${fail:-0} + ${timeout:-0} + ${xpass:-0} ))
echo "${ok:-0} passed, ${failed} failed, ${skipped:-0} skipped"
if [ "${ok:-0}" -eq 0 ] && [ "$rc" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$rc"

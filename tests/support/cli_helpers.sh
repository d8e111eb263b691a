# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the tests/cli/*.sh scripts: a scratch folder $tmp removed on exit, a failure counter
# with fail(), and the checks they share.
#   . "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"

set -u

# require_files MESSAGE FILE...: skips the test (exit 77) with MESSAGE when a FILE is missing.
require_files() {
  local message="$1" file
  shift
  for file in "$@"; do
    if [ ! -f "$file" ]; then
      echo "SKIP: $message"
      exit 77
    fi
  done
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# expect_failure NAME TEXT COMMAND...: COMMAND exits non-zero with exactly one line on stderr,
# and that line contains TEXT.
expect_failure() {
  local name="$1" text="$2"
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  if [ "$rc" -eq 0 ]; then fail "$name: exit status 0"; return; fi
  if [ "$lines" -ne 1 ]; then fail "$name: $lines lines on stderr:"; cat "$tmp/err"; return; fi
  if ! grep -qF -- "$text" "$tmp/err"; then
    fail "$name: stderr does not mention '$text':"; cat "$tmp/err"; return
  fi
  echo "ok   $name: $(cat "$tmp/err")"
}

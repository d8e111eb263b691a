#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes an ensemble pack of two member packs with `hesp convert ensemble` (before valgrind starts:
# its calibration runs both members on photos), then runs the rest of the command line with every
# @ENSEMBLE@ in its arguments replaced by the pack's path, and exits with that command's status.
#   with_ensemble.sh HESP_EXECUTABLE MEMBER_PACK MEMBER_PACK COMMAND [ARG ...]
# Exits 77 (skipped) when a member pack is missing.
set -u
hesp="$1"
first="$2"
second="$3"
shift 3
for member in "$first" "$second"; do
  if [ ! -f "$member" ]; then
    echo "skipped: member pack '$member' is missing (run scripts/setup.sh)"
    exit 77
  fi
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pack="$tmp/ensemble.safetensors"
if ! "$hesp" convert ensemble "$first" "$second" -o "$pack" >"$tmp/log" 2>&1; then
  cat "$tmp/log"
  echo "cannot make the ensemble pack"
  exit 1
fi
args=()
for arg in "$@"; do args+=("${arg//@ENSEMBLE@/$pack}"); done
"${args[@]}"

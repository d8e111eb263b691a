#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one pipelines/*.pipeline file to EOS with gst-launch-1.0. Placeholders: ${INPUT} (a real
# face video), ${OUTPUT_DIR} (a fresh temporary folder). Live sources are swapped for test
# sources by the substitutions in the file's "# test:" lines (sed expressions).
#   run_pipelines.sh FILE INPUT_VIDEO
set -euo pipefail
file="$1"
input="$2"
if [ ! -f "$input" ]; then
  echo "SKIP: test video $input missing (run scripts/setup.sh)"
  exit 77
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
line="$(grep -v '^#' "$file" | grep -v '^[[:space:]]*$' | tr '\n' ' ')"
while IFS= read -r expr; do
  line="$(printf '%s' "$line" | sed -e "$expr")"
done < <(sed -n 's/^# test: //p' "$file")
line="${line//\$\{INPUT\}/$input}"
line="${line//\$\{OUTPUT_DIR\}/$out}"
echo "gst-launch-1.0 -e $line"
# shellcheck disable=SC2086
timeout 600 gst-launch-1.0 -e $line
if [ -n "$(sed -n 's/^# expect-file: //p' "$file")" ]; then
  for f in $(sed -n 's/^# expect-file: //p' "$file"); do
    f="${f//\$\{OUTPUT_DIR\}/$out}"
    [ -s "$f" ] || { echo "expected output $f is missing or empty"; exit 1; }
  done
fi

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The `fuzz` test suite: builds the harnesses when needed, then runs one of them for a few seconds
# starting from its checked-in corpus. Any crash, sanitizer report, timeout or failed property
# fails the test; the input that did it is kept as BUILD_DIR/artifacts/NAME-crash-<sha1>.
#   tests/fuzz/run_fuzz_smoke.sh NAME BUILD_DIR [SECONDS]
# Exits 77 (skipped) when clang/libFuzzer or the data a harness needs is missing.
set -eu
name=${1:?usage: run_fuzz_smoke.sh NAME BUILD_DIR [SECONDS]}
build_dir=${2:?usage: run_fuzz_smoke.sh NAME BUILD_DIR [SECONDS]}
seconds=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)

status=0
"$here/build_fuzzers.sh" "$build_dir" || status=$?
[ "$status" -eq 0 ] || exit "$status"

if [ "$name" = tokenizer ] && [ -z "${HESP_CLIP_VOCAB:-}" ]; then
  vocab=${HESP_SHARED_DATA:-}/clip/bpe_simple_vocab_16e6.txt.gz
  if [ ! -f "$vocab" ]; then
    echo "skipping: CLIP vocabulary $vocab is missing (set HESP_SHARED_DATA or HESP_CLIP_VOCAB)"
    exit 77
  fi
fi

fuzzer="$build_dir/fuzz_$name"
corpus="$here/corpus/$name"
mkdir -p "$build_dir/artifacts"
# libFuzzer's own exit codes for a bug (77) and a timeout (70) would read as "skipped" and as an
# ordinary failure code; 1 for both keeps the meaning plain.
flags="-timeout=10 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1"

# Inputs of fixed bugs first, each run once at full size (the fuzzing run below cuts inputs to
# -max_len).
regressions=$(find "$corpus" -name 'regress-*' -type f | sort)
if [ -n "$regressions" ]; then
  # shellcheck disable=SC2086 # word splitting wanted: flags and file names without spaces
  "$fuzzer" $flags $regressions || exit 1
fi

# New inputs go to a scratch folder (the first corpus argument), never into the source tree.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# shellcheck disable=SC2086
"$fuzzer" $flags -max_len=4096 -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$build_dir/artifacts/$name-" "$scratch" "$corpus" || status=$?
exit "$status"

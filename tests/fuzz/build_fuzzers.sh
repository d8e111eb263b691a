#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Configures (once) and builds the libFuzzer harnesses of tests/fuzz with clang in BUILD_DIR.
#   tests/fuzz/build_fuzzers.sh BUILD_DIR
# Exits 77 (meson's "skipped") when clang++ or its libFuzzer runtime is missing.
# Environment: HESP_FUZZ_CXX (default clang++), HESP_FUZZ_JOBS (ninja -j, default 2), MESON.
set -eu
build_dir=${1:?usage: build_fuzzers.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cxx=${HESP_FUZZ_CXX:-clang++}
meson=${MESON:-meson}

if [ ! -f "$build_dir/build.ninja" ]; then
  if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "skipping: $cxx not found (the fuzz harnesses need clang with libFuzzer)"
    exit 77
  fi
  probe=$(mktemp -d)
  trap 'rm -rf "$probe"' EXIT
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' \
    >"$probe/probe.cpp"
  if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" \
      >"$probe/log" 2>&1; then
    echo "skipping: $cxx cannot link -fsanitize=fuzzer,address,undefined" \
      "(Debian/Ubuntu: install libclang-rt-<version>-dev):"
    cat "$probe/log"
    exit 77
  fi
  CXX=$cxx "$meson" setup "$build_dir" "$here"
fi
ninja -C "$build_dir" -j "${HESP_FUZZ_JOBS:-2}"

// SPDX-License-Identifier: LGPL-2.1-or-later
// What the CPU running this process can do, for choosing kernels. Header-only and torch-free.
#pragma once

namespace hesp::util {

// The AVX-512 BF16 instructions oneDNN's bf16 products need.
inline bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

}  // namespace hesp::util

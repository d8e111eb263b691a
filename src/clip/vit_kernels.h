// SPDX-License-Identifier: LGPL-2.1-or-later
// fp32 CPU kernels for the CLIP image tower's inference path (AVX2 + FMA): a matrix product
// against weights packed once into 16-column panels, with bias, QuickGELU and the residual add
// applied to the output tile while it is in cache; row-wise LayerNorm; and multi-head attention
// read straight from the packed q/k/v projection. Torch-free and compiled for the baseline
// target: only the functions marked inside vit_kernels.cpp use AVX2, and callers check
// cpu_supported() first. Work is cut into independent tasks that the caller spreads over threads
// (run(begin, end) for any split of [0, tasks())).
#pragma once

#include <cstdint>

namespace hesp::clip::kernels {

// AVX2 and FMA are available.
bool cpu_supported();

// Weights in the layout the product reads: W [n, k] (a torch Linear weight, y = x W^T) as
// ceil(n / 16) panels of k rows x 16 columns, zero-padded past n.
int64_t packed_floats(int64_t n, int64_t k);
void pack_weight(const float* w, int64_t ldw, int64_t n, int64_t k, float* packed);

enum class Epilogue {
  kNone,         // C = A B
  kBias,         // C = A B + bias
  kBiasGelu,     // C = quick_gelu(A B + bias), quick_gelu(v) = v sigmoid(1.702 v)
  kBiasResidual  // C += A B + bias (C holds the residual stream)
};

// C [m, n] (row stride ldc) from A [m, k] (row stride lda) and packed B.
struct Gemm {
  const float* a = nullptr;
  int64_t lda = 0;
  const float* packed = nullptr;
  const float* bias = nullptr;  // [n]; unused with kNone
  float* c = nullptr;
  int64_t ldc = 0;
  int64_t m = 0, n = 0, k = 0;
  Epilogue epilogue = Epilogue::kNone;

  int64_t tasks() const;
  void run(int64_t begin, int64_t end) const;
};

// y = (x - mean) / sqrt(var + eps) * gamma + beta per row of width floats; rows [begin, end).
// x and y may be the same memory.
void layer_norm_rows(const float* x, int64_t ldx, float* y, int64_t ldy, const float* gamma,
                     const float* beta, int64_t width, float eps, int64_t begin, int64_t end);

// Self-attention without a mask over qkv [batch, len, 3 * heads * dim] (q, k, v blocks, each
// heads x dim, as the packed in-projection writes them) into out [batch, len, heads * dim].
// One task per (image, head); scratch holds scratch_floats() floats per concurrent task.
struct Attention {
  const float* qkv = nullptr;
  float* out = nullptr;
  int64_t batch = 0, len = 0, heads = 0, dim = 0;
  // Query rows per image, from the first: 0 = all `len`; 1 = the class token only (the last
  // layer, whose other rows nothing reads). Keys and values are always all `len` tokens.
  int64_t queries = 0;

  int64_t tasks() const { return batch * heads; }
  int64_t scratch_floats() const;
  void run(int64_t task, float* scratch) const;
};

}  // namespace hesp::clip::kernels

// SPDX-License-Identifier: LGPL-2.1-or-later
// The functions marked HESP_AVX2 are compiled for AVX2 + FMA one by one (the file itself is built
// for the baseline target, and nothing here is an inline function shared with other files), so
// the library still loads and runs everywhere; callers check cpu_supported() first.
#include "clip/vit_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HESP_KERNELS_X86 1
#define HESP_AVX2 __attribute__((target("avx2,fma")))
#endif

#include <cmath>

namespace hesp::clip::kernels {

namespace {

constexpr int64_t kNr = 16;   // columns per panel: two 8-float vectors
constexpr int64_t kMr = 6;    // rows per register tile: 12 accumulators + 2 B vectors + 1 A
constexpr int64_t kKc = 512;  // k rows per block: a 32 KiB slice of a panel, about L1
constexpr int64_t kMc = 96;   // rows of A per task; its k block (96 KiB) stays in L2

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

int64_t packed_floats(int64_t n, int64_t k) { return ceil_div(n, kNr) * kNr * k; }

void pack_weight(const float* w, int64_t ldw, int64_t n, int64_t k, float* packed) {
  for (int64_t p = 0; p < ceil_div(n, kNr); ++p)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t c = 0; c < kNr; ++c) {
        const int64_t col = p * kNr + c;
        packed[(p * k + kk) * kNr + c] = col < n ? w[col * ldw + kk] : 0.f;
      }
}

int64_t Gemm::tasks() const { return ceil_div(n, kNr) * ceil_div(m, kMc); }

int64_t Attention::scratch_floats() const {
  const int64_t lp = ceil_div(len, 8) * 8;
  return dim * lp + lp;
}

#ifdef HESP_KERNELS_X86

bool cpu_supported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

namespace {

// exp for x in [-87, 88] (inputs are clamped there): Cephes' expf polynomial, ~1 ulp.
HESP_AVX2 inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.f)), _mm256_set1_ps(88.f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

HESP_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(s);
}

HESP_AVX2 inline __m256 quick_gelu(__m256 v) {
  const __m256 e = exp256(_mm256_mul_ps(v, _mm256_set1_ps(-1.702f)));
  return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.f), e));
}

// c [MR x 16] (+)= a [MR x kc] b [kc x 16]; b is a packed panel slice (32-byte aligned).
template <int MR>
HESP_AVX2 void tile(const float* a, int64_t lda, const float* b, int64_t kc, float* c, int64_t ldc,
                    bool load) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    acc[r][0] = load ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    acc[r][1] = load ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b + k * kNr);
    const __m256 b1 = _mm256_load_ps(b + k * kNr + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + k);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

HESP_AVX2 void tile_rows(int rows, const float* a, int64_t lda, const float* b, int64_t kc,
                         float* c, int64_t ldc, bool load) {
  switch (rows) {
    case 1:
      tile<1>(a, lda, b, kc, c, ldc, load);
      break;
    case 2:
      tile<2>(a, lda, b, kc, c, ldc, load);
      break;
    case 3:
      tile<3>(a, lda, b, kc, c, ldc, load);
      break;
    case 4:
      tile<4>(a, lda, b, kc, c, ldc, load);
      break;
    case 5:
      tile<5>(a, lda, b, kc, c, ldc, load);
      break;
    default:
      tile<6>(a, lda, b, kc, c, ldc, load);
      break;
  }
}

// The epilogue on a finished tile [rows x cols], cols <= 16, while it is in L1.
// The epilogue on a finished tile: sums [rows x cols] (row stride lds; cols <= 16) go to c,
// while both are in L1. With kBiasResidual, c holds the residual and gets c + (sums + bias),
// the order of x + linear(x) in the reference.
HESP_AVX2 void finish(const float* sums, int64_t lds, float* c, int64_t ldc, int rows, int cols,
                      const float* bias, Epilogue epilogue) {
  for (int r = 0; r < rows; ++r) {
    const float* in = sums + r * lds;
    float* row = c + r * ldc;
    int j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 v = _mm256_loadu_ps(in + j);
      if (epilogue != Epilogue::kNone) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
      if (epilogue == Epilogue::kBiasGelu) v = quick_gelu(v);
      if (epilogue == Epilogue::kBiasResidual) v = _mm256_add_ps(_mm256_loadu_ps(row + j), v);
      _mm256_storeu_ps(row + j, v);
    }
    for (; j < cols; ++j) {
      float v = in[j];
      if (epilogue != Epilogue::kNone) v += bias[j];
      if (epilogue == Epilogue::kBiasGelu) v = v / (1.f + std::exp(-1.702f * v));
      row[j] = epilogue == Epilogue::kBiasResidual ? row[j] + v : v;
    }
  }
}

HESP_AVX2 void gemm_task(const Gemm& g, int64_t task) {
  const int64_t mchunks = ceil_div(g.m, kMc);
  const int64_t panel = task / mchunks, m0 = (task % mchunks) * kMc;
  const int64_t rows = g.m - m0 < kMc ? g.m - m0 : kMc;
  const int64_t col0 = panel * kNr;
  const int cols = static_cast<int>(g.n - col0 < kNr ? g.n - col0 : kNr);
  const float* b = g.packed + panel * kNr * g.k;
  // Sums go straight to C unless C holds the residual (added once, at the end, so that it is
  // not rounded after every k block) or the panel is the narrower last one.
  const bool direct = g.epilogue != Epilogue::kBiasResidual && cols == kNr;
  alignas(32) float sums[kMc * kNr];
  // Rows split into near-equal tiles of at most 6, so no tile runs far below full width.
  const int64_t tiles = ceil_div(rows, kMr);
  for (int64_t k0 = 0; k0 < g.k; k0 += kKc) {
    const int64_t kc = g.k - k0 < kKc ? g.k - k0 : kKc;
    const bool last = k0 + kc == g.k;
    int64_t r0 = m0;
    for (int64_t t = 0; t < tiles; ++t) {
      const int tr = static_cast<int>(rows / tiles + (t < rows % tiles ? 1 : 0));
      const float* a = g.a + r0 * g.lda + k0;
      float* c = g.c + r0 * g.ldc + col0;
      float* s = direct ? c : sums + (r0 - m0) * kNr;
      const int64_t lds = direct ? g.ldc : kNr;
      tile_rows(tr, a, g.lda, b + k0 * kNr, kc, s, lds, k0 > 0);
      if (last && (!direct || g.epilogue != Epilogue::kNone))
        finish(s, lds, c, g.ldc, tr, cols, g.bias + col0, g.epilogue);
      r0 += tr;
    }
  }
}

HESP_AVX2 void layer_norm_avx2(const float* x, int64_t ldx, float* y, int64_t ldy,
                               const float* gamma, const float* beta, int64_t width, float eps,
                               int64_t begin, int64_t end) {
  const int64_t w8 = width / 8 * 8;
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    __m256 s = _mm256_setzero_ps();
    for (int64_t j = 0; j < w8; j += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(xr + j));
    float sum = hsum(s);
    for (int64_t j = w8; j < width; ++j) sum += xr[j];
    const float mean = sum / static_cast<float>(width);
    const __m256 vm = _mm256_set1_ps(mean);
    __m256 q = _mm256_setzero_ps();
    for (int64_t j = 0; j < w8; j += 8) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(xr + j), vm);
      q = _mm256_fmadd_ps(d, d, q);
    }
    float sq = hsum(q);
    for (int64_t j = w8; j < width; ++j) sq += (xr[j] - mean) * (xr[j] - mean);
    const float rstd = 1.f / std::sqrt(sq / static_cast<float>(width) + eps);
    const __m256 vr = _mm256_set1_ps(rstd);
    for (int64_t j = 0; j < w8; j += 8) {
      const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + j), vm), vr);
      _mm256_storeu_ps(yr + j,
                       _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + j), _mm256_loadu_ps(beta + j)));
    }
    for (int64_t j = w8; j < width; ++j) yr[j] = (xr[j] - mean) * rstd * gamma[j] + beta[j];
  }
}

// One (image, head): scores against K transposed into scratch (scaled), softmax, weighted V.
HESP_AVX2 void attention_avx2(const Attention& at, int64_t task, float* scratch) {
  const int64_t b = task / at.heads, h = task % at.heads;
  const int64_t len = at.len, dim = at.dim, width = at.heads * at.dim;
  const int64_t lp = ceil_div(len, 8) * 8;
  const float* base = at.qkv + b * len * 3 * width + h * dim;
  float* kt = scratch;            // [dim, lp]
  float* s = scratch + dim * lp;  // [lp]
  const float scale = 1.f / std::sqrt(static_cast<float>(dim));
  for (int64_t j = 0; j < lp; ++j) {
    const float* kj = base + j * 3 * width + width;
    for (int64_t d = 0; d < dim; ++d) kt[d * lp + j] = j < len ? kj[d] * scale : 0.f;
  }
  const int64_t queries = at.queries > 0 && at.queries < len ? at.queries : len;
  for (int64_t i = 0; i < queries; ++i) {
    const float* qi = base + i * 3 * width;
    for (int64_t j = 0; j < lp; j += 8) _mm256_store_ps(s + j, _mm256_setzero_ps());
    for (int64_t d = 0; d < dim; ++d) {
      const __m256 q = _mm256_broadcast_ss(qi + d);
      const float* kd = kt + d * lp;
      for (int64_t j = 0; j < lp; j += 8)
        _mm256_store_ps(s + j, _mm256_fmadd_ps(q, _mm256_load_ps(kd + j), _mm256_load_ps(s + j)));
    }
    float mx = s[0];
    for (int64_t j = 1; j < len; ++j) mx = s[j] > mx ? s[j] : mx;
    const __m256 vmx = _mm256_set1_ps(mx);
    for (int64_t j = 0; j < lp; j += 8)
      _mm256_store_ps(s + j, exp256(_mm256_sub_ps(_mm256_load_ps(s + j), vmx)));
    float sum = 0.f;
    for (int64_t j = 0; j < len; ++j) sum += s[j];
    float* oi = at.out + (b * len + i) * width + h * dim;
    for (int64_t d = 0; d < dim; d += 8) _mm256_storeu_ps(oi + d, _mm256_setzero_ps());
    for (int64_t j = 0; j < len; ++j) {
      const __m256 p = _mm256_set1_ps(s[j]);
      const float* vj = base + j * 3 * width + 2 * width;
      for (int64_t d = 0; d < dim; d += 8)
        _mm256_storeu_ps(oi + d,
                         _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + d), _mm256_loadu_ps(oi + d)));
    }
    const __m256 inv = _mm256_set1_ps(1.f / sum);
    for (int64_t d = 0; d < dim; d += 8)
      _mm256_storeu_ps(oi + d, _mm256_mul_ps(_mm256_loadu_ps(oi + d), inv));
  }
}

}  // namespace

void Gemm::run(int64_t begin, int64_t end) const {
  for (int64_t t = begin; t < end; ++t) gemm_task(*this, t);
}

void layer_norm_rows(const float* x, int64_t ldx, float* y, int64_t ldy, const float* gamma,
                     const float* beta, int64_t width, float eps, int64_t begin, int64_t end) {
  layer_norm_avx2(x, ldx, y, ldy, gamma, beta, width, eps, begin, end);
}

void Attention::run(int64_t task, float* scratch) const { attention_avx2(*this, task, scratch); }

#else  // not x86-64 with GCC/Clang: callers see cpu_supported() == false and never call these

bool cpu_supported() { return false; }
void Gemm::run(int64_t, int64_t) const {}
void layer_norm_rows(const float*, int64_t, float*, int64_t, const float*, const float*, int64_t,
                     float, int64_t, int64_t) {}
void Attention::run(int64_t, float*) const {}

#endif

}  // namespace hesp::clip::kernels

// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP encoder speed: image throughput at batch 1 and 8 per kernel choice, the latency of one
// 8-frame clip, text prompts, and the fp32 matrix-product peak the numbers are judged against.
// Needs a ViT checkpoint: HESP_BENCH_CLIP_CHECKPOINT (bench_clip.py makes a random ViT-B/32 one
// and runs this next to PyTorch eager). Threads: HESP_BENCH_THREADS (default 2).
//
// On a shared machine, run short repetitions and keep the fastest (bench_clip.py passes
// --benchmark_min_time=0 --benchmark_repetitions=N): other load only ever adds time.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hesp/clip_encoder.h"
#include "hesp/error.h"
#include "hesp/face_clips.h"

namespace {

// kPackedFp32 is the default fp32 path (hesp's packed kernels on AVX2 CPUs, else oneDNN);
// kOneDnnFp32 runs every linear layer through ATen's oneDNN op, kATenFp32 through at::linear.
enum Variant { kPackedFp32 = 0, kATenFp32 = 1, kOneDnnBf16 = 2, kOneDnnFp32 = 3 };

int bench_threads() {
  const char* v = std::getenv("HESP_BENCH_THREADS");
  return v && *v ? std::atoi(v) : 2;
}

// Loaded once per variant; nullptr with a reason when it cannot be.
hesp::ClipEncoder* encoder(int variant, std::string* why) {
  static std::map<int, std::unique_ptr<hesp::ClipEncoder>> cache;
  static std::map<int, std::string> errors;
  if (!cache.count(variant) && !errors.count(variant)) {
    const char* path = std::getenv("HESP_BENCH_CLIP_CHECKPOINT");
    if (!path || !*path) {
      errors[variant] = "set HESP_BENCH_CLIP_CHECKPOINT to a CLIP ViT .pt file";
    } else {
      hesp::ClipOptions options;
      options.threads = bench_threads();
      options.use_onednn = variant != kATenFp32;
      options.packed_kernels = variant == kPackedFp32;
      options.precision =
          variant == kOneDnnBf16 ? hesp::ClipPrecision::kBFloat16 : hesp::ClipPrecision::kFloat32;
      try {
        cache[variant] = hesp::ClipEncoder::load(path, options);
      } catch (const std::exception& e) {
        errors[variant] = e.what();
      }
    }
  }
  if (errors.count(variant)) {
    *why = errors[variant];
    return nullptr;
  }
  return cache[variant].get();
}

// True the first time a key is seen: that call is a warm-up (oneDNN builds its kernels on first
// use), kept out of the timed repetitions.
bool first_time(const std::string& key) {
  static std::set<std::string> seen;
  return seen.insert(key).second;
}

// Multiply-adds of one image through the vision tower, counted as 2 FLOPs each.
double image_flops(const hesp::ClipGeometry& g) {
  const double w = g.vision_width, p = g.patch_size, grid = g.image_size / g.patch_size;
  const double tokens = grid * grid + 1;
  const double patch = 2.0 * grid * grid * 3 * p * p * w;
  const double per_layer = 2.0 * tokens * w * 3 * w         // q, k, v
                           + 2.0 * 2 * tokens * tokens * w  // scores and weighted values
                           + 2.0 * tokens * w * w           // attention output
                           + 2.0 * 2 * tokens * w * 4 * w;  // MLP
  return patch + g.vision_layers * per_layer + 2.0 * w * g.embed_dim;
}

void BM_ImageEncoder(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  std::string why;
  hesp::ClipEncoder* enc = encoder(static_cast<int>(state.range(1)), &why);
  if (!enc) {
    state.SkipWithError(why.c_str());
    return;
  }
  const int s = enc->input_size();
  std::vector<float> input(static_cast<std::size_t>(batch) * 3 * s * s);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (float& v : input) v = normal(rng);
  if (first_time("image/" + std::to_string(state.range(0)) + "/" + std::to_string(state.range(1))))
    enc->encode_images(input.data(), batch);
  for (auto _ : state) {
    const hesp::Embeddings e = enc->encode_images(input.data(), batch);
    benchmark::DoNotOptimize(e.values.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOPS"] = benchmark::Counter(image_flops(enc->geometry()) * batch / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ImageEncoder)
    ->ArgNames({"batch", "variant"})
    ->ArgsProduct({{1, 8}, {kPackedFp32, kATenFp32, kOneDnnBf16, kOneDnnFp32}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()  // all threads: the work an image costs, whatever else runs
    ->UseRealTime();

// One face track's 8-frame clip of 224 px crops, as hespclipbatch hands it over: preprocessing
// (normalisation only at the input size) plus the image tower.
void BM_ClipLatency(benchmark::State& state) {
  std::string why;
  hesp::ClipEncoder* enc = encoder(static_cast<int>(state.range(0)), &why);
  if (!enc) {
    state.SkipWithError(why.c_str());
    return;
  }
  hesp::Clip clip;
  clip.crop_size = enc->input_size();
  clip.n_frames = clip.n_real_frames = 8;
  clip.frames.resize(static_cast<std::size_t>(8) * clip.crop_size * clip.crop_size * 3);
  std::mt19937 rng(2);
  for (auto& b : clip.frames) b = static_cast<std::uint8_t>(rng() & 0xFF);
  if (first_time("clip/" + std::to_string(state.range(0)))) enc->encode_clips({&clip});
  for (auto _ : state) {
    const hesp::Embeddings e = enc->encode_clips({&clip});
    benchmark::DoNotOptimize(e.values.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClipLatency)
    ->ArgName("variant")
    ->Arg(kPackedFp32)
    ->Arg(kOneDnnBf16)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Eight class prompts of 12 tokens (a typical zero-shot label set), in one batch.
void BM_TextEncoder(benchmark::State& state) {
  std::string why;
  hesp::ClipEncoder* enc = encoder(kPackedFp32, &why);
  if (!enc) {
    state.SkipWithError(why.c_str());
    return;
  }
  std::vector<std::vector<int>> tokens(8);
  for (int i = 0; i < 8; ++i) {
    tokens[i] = {49406};
    for (int k = 0; k < 10; ++k) tokens[i].push_back(320 + 37 * i + k);
    tokens[i].push_back(49407);
  }
  if (first_time("text")) enc->encode_text(tokens);
  for (auto _ : state) {
    const hesp::Embeddings e = enc->encode_text(tokens);
    benchmark::DoNotOptimize(e.values.data());
  }
  state.SetItemsProcessed(state.iterations() * 8);
}
BENCHMARK(BM_TextEncoder)->Unit(benchmark::kMillisecond)->UseRealTime();

// The fp32 matrix-product ceiling on this machine: a large square product through BLAS
// (at::mm) and through oneDNN (mkldnn_linear), the two kernels the encoder can use.
void BM_MatmulPeak(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool onednn = state.range(1) != 0;
  if (onednn && !at::hasMKLDNN()) {
    state.SkipWithError("LibTorch without oneDNN");
    return;
  }
  at::set_num_threads(bench_threads());
  const at::Tensor a = at::randn({n, n});
  const at::Tensor b = at::randn({n, n});
  const auto run = [&] {
    return onednn ? at::mkldnn_linear(a.to_mkldnn(), b, c10::nullopt).to_dense() : at::mm(a, b);
  };
  if (first_time("matmul/" + std::to_string(onednn))) run();
  for (auto _ : state) benchmark::DoNotOptimize(run().data_ptr());
  state.counters["GFLOPS"] =
      benchmark::Counter(2.0 * n * n * n / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatmulPeak)
    ->ArgNames({"n", "onednn"})
    ->ArgsProduct({{2048}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

// SPDX-License-Identifier: LGPL-2.1-or-later
// Clip inference throughput of an expression model pack (default: the face-api.js pack that
// `hesp convert faceapi` writes to the cache). Run with
//   build/tests/bench/bench_expression_model [--benchmark_min_time=2]
// HESP_BENCH_PACK points at another pack, HESP_BENCH_THREADS changes the thread count (2).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"

namespace {

constexpr int kFramesPerClip = 8;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string pack_path() {
  const std::string cache = env_or("HESP_CACHE_DIR", env_or("HOME", ".") + "/.cache/hesp");
  return env_or("HESP_BENCH_PACK", cache + "/models/faceapi-expression.safetensors");
}

// The model is loaded once; throughput does not include loading.
hesp::ExpressionModel* model(std::string* error) {
  static std::string load_error;
  static std::unique_ptr<hesp::ExpressionModel> m = []() -> std::unique_ptr<hesp::ExpressionModel> {
    hesp::ModelOptions options;
    options.threads = std::atoi(env_or("HESP_BENCH_THREADS", "2").c_str());
    try {
      return hesp::ExpressionModel::load(pack_path(), options);
    } catch (const std::exception& e) {
      load_error = hesp::describe(e) + " (make it with `hesp convert faceapi`)";
      return nullptr;
    }
  }();
  *error = load_error;
  return m.get();
}

void BM_ClassifyClips(benchmark::State& state) {
  hesp::ExpressionModel* m = hesp::test::model_or_skip(state, model);
  if (!m) return;
  const int clips = static_cast<int>(state.range(0));
  const int size = static_cast<int>(state.range(1));
  // Pixel content does not change the work a CNN does; a fixed pattern keeps runs comparable.
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(clips) * kFramesPerClip * size * size *
                                   3);
  for (std::size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<std::uint8_t>(i * 31 + (i >> 9));
  std::vector<hesp::ClipView> views;
  for (int c = 0; c < clips; ++c)
    views.push_back({pixels.data() + static_cast<std::size_t>(c) * kFramesPerClip * size * size * 3,
                     kFramesPerClip, size});
  for (auto _ : state) {
    auto results = m->classify(views, m->default_unknown_threshold());
    benchmark::DoNotOptimize(results.data());
  }
  state.counters["clips/s"] = benchmark::Counter(static_cast<double>(clips) * state.iterations(),
                                                 benchmark::Counter::kIsRate);
  state.counters["frames/s"] =
      benchmark::Counter(static_cast<double>(clips) * kFramesPerClip * state.iterations(),
                         benchmark::Counter::kIsRate);
}

// Batches of 1 and 8 clips of 8 frames, crops at the model's 112 px and at hespclipbatch's
// default 224 px (resized inside classify).
BENCHMARK(BM_ClassifyClips)
    ->ArgNames({"clips", "crop"})
    ->Args({1, 112})
    ->Args({8, 112})
    ->Args({1, 224})
    ->Args({8, 224})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

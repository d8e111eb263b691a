// SPDX-License-Identifier: LGPL-2.1-or-later
// Inference latency of a `hesp` pack with ViT-B/32 geometry (random weights: the speed does not
// depend on the values) on 8-frame clips, through the same ExpressionModel::classify hespinfer
// calls: 224 px crops in, ensemble logits out. The pack is written once to a temporary file.
// Needs CLIP's vocabulary for the prompts: HESP_BENCH_VOCAB, else $HESP_SHARED_DATA/clip/.
// Threads: HESP_BENCH_THREADS (default 2). Training throughput is what `hesp train` reports
// (clips/s); docs/benchmarks.md has both.
#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "clip/clip_init.h"
#include "hesp/expression_model.h"
#include "hesp/tokenizer.h"
#include "models/hesp_model.h"
#include "nets/hesp_network.h"

namespace {

int bench_threads() {
  const char* v = std::getenv("HESP_BENCH_THREADS");
  return v && *v ? std::atoi(v) : 2;
}

std::string vocab_path() {
  if (const char* v = std::getenv("HESP_BENCH_VOCAB"); v && *v) return v;
  if (const char* d = std::getenv("HESP_SHARED_DATA"); d && *d)
    return std::string(d) + "/clip/bpe_simple_vocab_16e6.txt.gz";
  return "";
}

// A hesp pack around a random ViT-B/32, written once; nullptr with a reason when it cannot be.
hesp::ExpressionModel* model(std::string* why) {
  static std::unique_ptr<hesp::ExpressionModel> cached;
  static std::string error;
  static bool tried = false;
  if (!tried) {
    tried = true;
    try {
      const std::string vocab = vocab_path();
      if (vocab.empty() || !std::filesystem::exists(vocab))
        throw std::runtime_error("set HESP_BENCH_VOCAB to bpe_simple_vocab_16e6.txt.gz");
      const std::vector<std::string> classes = {"Angry",   "Disgust", "Fear",     "Happy",
                                                "Neutral", "Sad",     "Surprise", "Contempt"};
      hesp::clip::ModelGeometry vit_b32;  // the defaults are ViT-B/32's
      auto clip = hesp::clip::random_clip_model(vit_b32, 1);
      const auto clip_tensors = hesp::clip::openai_tensors(*clip);
      hesp::Tokenizer tokenizer(vocab);
      hesp::nets::HespNetworkOptions options;
      hesp::nets::HespNetwork net(clip, tokenizer, classes, options);
      net->set_location({84, 84, hesp::nets::visual_prompt_side(224)});
      torch::NoGradGuard no_grad;
      hesp::models::HespPackContents c;
      c.path = (std::filesystem::temp_directory_path() /
                ("hesp_bench_" + std::to_string(getpid()) + ".safetensors"))
                   .string();
      c.name = "bench-vit-b32-random";
      c.clip_tensors = clip_tensors;
      c.class_names = classes;
      c.prompt_names = classes;
      c.input_size = 224;
      c.frames_per_clip = 8;
      c.text_features = net->text_features();
      c.text_context = net->context;
      c.negative_centers = net->negative_centers();
      c.visual_prompt = net->visual_prompt;
      c.temporal_query = net->temporal_query;
      c.temporal_gain = net->temporal_gain;
      c.radius = net->radius;
      c.location = net->location();
      c.calibration = {{"note", "benchmark pack: random weights"}};
      c.training = {{"note", "not trained"}};
      hesp::models::write_hesp_pack(c);
      hesp::ModelOptions model_options;
      model_options.threads = bench_threads();
      cached = hesp::ExpressionModel::load(c.path, model_options);
      std::filesystem::remove(c.path);  // the model keeps what it needs in memory
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (!cached) *why = error;
  return cached.get();
}

// state.range(0) clips of 8 frames of 224 x 224 per classify() call; the time column is per call.
void BM_HespPackClips(benchmark::State& state) {
  hesp::ExpressionModel* m = hesp::test::model_or_skip(state, model);
  if (!m) return;
  const int clips = static_cast<int>(state.range(0));
  const int frames = 8, side = 224;
  std::vector<std::uint8_t> pixels(std::size_t(clips) * frames * side * side * 3);
  std::mt19937 rng(3);
  for (auto& p : pixels) p = static_cast<std::uint8_t>(rng());
  std::vector<hesp::ClipView> views;
  for (int c = 0; c < clips; ++c)
    views.push_back({pixels.data() + std::size_t(c) * frames * side * side * 3, frames, side});
  for (auto _ : state) benchmark::DoNotOptimize(m->classify(views, 0.0));
  state.counters["clips/s"] =
      benchmark::Counter(double(clips) * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HespPackClips)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

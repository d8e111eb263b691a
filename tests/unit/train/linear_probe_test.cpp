// SPDX-License-Identifier: LGPL-2.1-or-later
// The linear probe on a tiny random CLIP and clips whose classes differ by colour: a random image
// tower still tells colours apart, so the probe must learn them (a probe that does not learn sits
// at chance, 1/3). Also: the report adds up, runs are reproducible, logistic regression fits what
// it should, clip embeddings are unit length, bad input fails with the documented errors. The CLIP
// is made here; the ResNet case reads the tiny OpenAI-format checkpoint from the shared data.
#include "hesp/linear_probe.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "clip/clip_checkpoint.h"
#include "hesp/dataset.h"
#include "hesp/error.h"
#include "test_data.h"
#include "tiny_clip_pack.h"
#include "train/clip_batches.h"
#include "train/linear_probe.h"

namespace fs = std::filesystem;

namespace {

using hesp::test::kTinyClipGeometry;
using hesp::test::write_tiny_clip_pack;

constexpr int kFrames = 4;
const std::vector<std::string> kClasses = {"Red", "Green", "Blue"};

class LinearProbe : public ::testing::Test {
 protected:
  // Clips of 32 x 32 frames: the class's colour, shifted per clip and noisy per pixel, so that no
  // two clips are alike; 8 training and 4 test clips per class.
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("hesp_probe_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::mt19937 rng(17);
    std::uniform_int_distribution<int> shift(-40, 40), noise(-25, 25);
    const int base[3][3] = {{200, 60, 60}, {60, 200, 60}, {60, 60, 200}};  // RGB
    for (const char* set : {"train", "test"}) {
      std::ofstream list(dir_ / (std::string(set) + ".txt"));
      const int per_class = std::string(set) == "train" ? 8 : 4;
      for (int c = 0; c < 3; ++c)
        for (int i = 0; i < per_class; ++i) {
          const std::string rel =
              std::string("clips/") + set + "/" + kClasses[c] + "/" + std::to_string(i);
          fs::create_directories(dir_ / rel);
          int rgb[3];
          for (int ch = 0; ch < 3; ++ch) rgb[ch] = base[c][ch] + shift(rng);
          for (int f = 0; f < kFrames; ++f) {
            cv::Mat bgr(32, 32, CV_8UC3);
            for (int y = 0; y < 32; ++y)
              for (int x = 0; x < 32; ++x)
                for (int ch = 0; ch < 3; ++ch)
                  bgr.at<cv::Vec3b>(y, x)[2 - ch] = cv::saturate_cast<uchar>(rgb[ch] + noise(rng));
            cv::imwrite((dir_ / rel / (std::to_string(f + 1) + ".png")).string(), bgr);
          }
          list << rel << " " << kFrames << " " << c << " " << kClasses[c] << "\n";
        }
    }
    write_tiny_clip_pack(path("tiny_clip.safetensors"), kTinyClipGeometry);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static std::vector<hesp::data::AnnotationItem> items(const std::string& set) {
    return hesp::data::read_annotations(path(set + ".txt")).items;
  }

  static hesp::LinearProbeOptions options() {
    hesp::LinearProbeOptions o;
    o.clip_weights = path("tiny_clip.safetensors");
    o.class_names = kClasses;
    o.train_items = items("train");
    o.test_items = items("test");
    o.frames = kFrames;
    o.epochs = 100;
    o.seed = 3;
    o.threads = 2;
    o.loader_threads = 1;
    o.batch_size = 8;
    return o;
  }

 private:
  static inline fs::path dir_;
};

TEST_F(LinearProbe, LearnsClassesAFrozenRandomTowerCanTellApart) {
  std::vector<std::string> phases;
  hesp::LinearProbeOptions o = options();
  o.progress = [&](const hesp::LinearProbeProgress& p) {
    if (p.clips_done == p.clips_total) phases.push_back(p.phase + ":" + p.set);
  };
  const hesp::LinearProbeReport r = hesp::run_linear_probe(o);
  EXPECT_GE(r.train_accuracy, 0.95);
  EXPECT_GE(r.test_accuracy, 0.75);  // chance is 1/3
  // The default penalty is chosen by cross-validation among six candidates (the largest within
  // one standard error of the best held-out accuracy): one of them, at least as large as the
  // best one's.
  ASSERT_EQ(r.selection.size(), 6u);
  double best = -1.0, best_penalty = 0.0;
  for (const auto& [penalty, accuracy] : r.selection)
    if (accuracy > best) best = accuracy, best_penalty = penalty;
  EXPECT_GE(r.weight_decay, best_penalty);
  bool listed = false;
  for (const auto& candidate : r.selection) listed = listed || candidate.first == r.weight_decay;
  EXPECT_TRUE(listed);
  EXPECT_EQ(phases, (std::vector<std::string>{"features:train", "features:test", "fit:"}));

  // The report adds up.
  EXPECT_DOUBLE_EQ(r.chance, 1.0 / 3);
  EXPECT_EQ(r.classes, kClasses);
  EXPECT_EQ(r.train_clips, 24);
  EXPECT_EQ(r.test_clips, 12);
  EXPECT_EQ(r.feature_dim, 32);  // the embedding size of kTinyClipGeometry
  EXPECT_EQ(r.image_tower, "vit");
  EXPECT_EQ(r.image_size, 32);
  ASSERT_EQ(r.per_class.size(), 3u);
  int clips = 0, correct = 0;
  double uar = 0.0;
  for (std::size_t c = 0; c < r.per_class.size(); ++c) {
    EXPECT_EQ(r.per_class[c].name, kClasses[c]);
    EXPECT_EQ(r.per_class[c].clips, 4);
    EXPECT_LE(r.per_class[c].correct, r.per_class[c].clips);
    clips += r.per_class[c].clips;
    correct += r.per_class[c].correct;
    uar += r.per_class[c].accuracy() / 3;
  }
  EXPECT_EQ(clips, r.test_clips);
  EXPECT_DOUBLE_EQ(r.test_accuracy, double(correct) / clips);
  EXPECT_NEAR(r.test_uar, uar, 1e-12);
  EXPECT_TRUE(std::isfinite(r.final_loss));
  EXPECT_GT(r.final_loss, 0.0);
  EXPECT_GE(r.seconds, r.feature_seconds + r.fit_seconds);
}

TEST_F(LinearProbe, SameSeedSameResult) {
  const hesp::LinearProbeReport a = hesp::run_linear_probe(options());
  const hesp::LinearProbeReport b = hesp::run_linear_probe(options());
  EXPECT_EQ(a.final_loss, b.final_loss);
  EXPECT_EQ(a.train_accuracy, b.train_accuracy);
  EXPECT_EQ(a.test_accuracy, b.test_accuracy);
}

TEST_F(LinearProbe, ResNetTowerToo) {
  const std::string rn = hesp::test::shared_path("clip/tiny-openai-rn/clip_openai_format.pt");
  HESP_REQUIRE_FILE(rn);
  hesp::LinearProbeOptions o = options();
  o.clip_weights = rn;
  const hesp::LinearProbeReport r = hesp::run_linear_probe(o);
  EXPECT_EQ(r.image_tower, "resnet");
  EXPECT_EQ(r.image_size, 64);
  EXPECT_EQ(r.feature_dim, 64);
  EXPECT_GE(r.train_accuracy, 0.9);
}

TEST_F(LinearProbe, ClipEmbeddingsAreUnitLengthInItemOrder) {
  auto clip = hesp::clip::load_clip_checkpoint(path("tiny_clip.safetensors"));
  hesp::data::ClipLoaderOptions loader;
  loader.num_segments = kFrames;
  loader.augment.size = 32;
  hesp::train::BatchOptions batching;
  batching.batch_size = 5;  // a last, smaller batch too
  batching.threads = 1;
  const hesp::train::ClipBatches batches(items("test"), loader, batching);
  std::vector<std::int64_t> done;
  const at::Tensor e =
      hesp::train::clip_embeddings(*clip, batches, [&](std::int64_t n) { done.push_back(n); });
  EXPECT_EQ(done, (std::vector<std::int64_t>{5, 10, 12}));
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{12, 32}));
  EXPECT_TRUE(torch::allclose(e.norm(2, 1), torch::ones({12}), 1e-5, 1e-5));
  // Clip 7 alone: the unit-length mean of its frames' embeddings.
  const hesp::train::ClipBatch one = batches.batch(0, 1);  // clips 5..9
  torch::NoGradGuard no_grad;
  const at::Tensor f = clip->encode_image(hesp::clip::clip_normalize(one.frames[2])).mean(0);
  EXPECT_TRUE(torch::allclose(e[7], f / f.norm(), 1e-4, 1e-5));
}

TEST_F(LinearProbe, LogisticRegressionFitsAndWeightDecayShrinks) {
  // Three well separated Gaussian blobs in 8 dimensions.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor centres = torch::randn({3, 8}, gen) * 4;
  const at::Tensor labels = torch::arange(3, torch::kLong).repeat({20});
  const at::Tensor x = centres.index_select(0, labels) + torch::randn({60, 8}, gen);
  hesp::train::LogisticRegressionOptions o;
  o.iterations = 100;
  o.weight_decay = 1e-3;
  const auto loose = hesp::train::fit_logistic_regression(x, labels, 3, o);
  EXPECT_TRUE(loose.logits(x).argmax(1).equal(labels));
  o.weight_decay = 1.0;
  const auto tight = hesp::train::fit_logistic_regression(x, labels, 3, o);
  EXPECT_LT(tight.weight.norm().item<double>(), loose.weight.norm().item<double>());
  EXPECT_GT(tight.loss, loose.loss);
  // Standardised training features have zero mean and unit spread; a constant one stays finite.
  const at::Tensor with_constant = torch::cat({x, torch::full({60, 1}, 3.0)}, 1);
  const auto s = hesp::train::fit_standardizer(with_constant);
  const at::Tensor z = s.apply(with_constant);
  EXPECT_TRUE(torch::allclose(z.mean(0), torch::zeros({9}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(z.narrow(1, 0, 8).std(0, false), torch::ones({8}), 1e-4, 1e-4));
  EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
}

TEST_F(LinearProbe, BadInputFailsClearly) {
  auto o = options();
  o.class_names.clear();
  EXPECT_THROW(hesp::run_linear_probe(o), hesp::SettingsError);
  o = options();
  o.test_items.clear();
  EXPECT_THROW(hesp::run_linear_probe(o), hesp::SettingsError);
  o = options();
  o.class_names.pop_back();  // the Blue clips' label 2 is now out of range
  EXPECT_THROW(hesp::run_linear_probe(o), hesp::SettingsError);
  o = options();
  o.clip_weights = path("missing.pt");
  EXPECT_THROW(hesp::run_linear_probe(o), hesp::FileNotFoundError);
  // A pack without CLIP weights (its tensors under another prefix).
  write_tiny_clip_pack(path("no_clip.safetensors"), kTinyClipGeometry, "other.");
  o = options();
  o.clip_weights = path("no_clip.safetensors");
  try {
    hesp::run_linear_probe(o);
    FAIL() << "a pack without CLIP weights was taken";
  } catch (const hesp::CorruptFileError& e) {
    EXPECT_NE(std::string(e.what()).find("no_clip.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace

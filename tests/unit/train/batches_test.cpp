// SPDX-License-Identifier: LGPL-2.1-or-later
// Clip batches (determinism, shuffling, dropping the last batch, errors) and random CLIP models
// (seeded, geometry strings, OpenAI names that load back).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "clip/clip_checkpoint.h"
#include "clip/clip_init.h"
#include "hesp/dataset.h"
#include "hesp/error.h"
#include "hesp/synth.h"
#include "synth_suite.h"
#include "train/clip_batches.h"

namespace fs = std::filesystem;

namespace {

class BatchesTest : public hesp::test::SynthDatasetSuite<BatchesTest> {
 protected:
  static void SetUpTestSuite() {
    write_dataset("hesp_batches_", {/*seed=*/3, /*train_per_class=*/3, /*test_per_class=*/0,
                                    /*size=*/40, /*n_frames=*/6, "Happy,Sad"});
  }
  static std::vector<hesp::data::AnnotationItem> items() { return train_items(); }
  static hesp::data::ClipLoaderOptions loader(bool train) {
    hesp::data::ClipLoaderOptions o;
    o.num_segments = 4;
    o.mode = train ? hesp::data::SamplingMode::kTrain : hesp::data::SamplingMode::kTest;
    o.augment.train = train;
    o.augment.size = 32;
    o.seed = 11;
    return o;
  }
};

TEST_F(BatchesTest, ShapesLabelsAndRange) {
  hesp::train::ClipBatches batches(items(), loader(false), {4, false, false, 2});
  ASSERT_EQ(batches.size(), 6);
  EXPECT_EQ(batches.batches_per_epoch(), 2);
  const auto b0 = batches.batch(0, 0);
  EXPECT_EQ(b0.frames.sizes(), (c10::IntArrayRef{4, 4, 3, 32, 32}));
  EXPECT_EQ(b0.items, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_GE(b0.frames.min().item<float>(), 0.f);
  EXPECT_LE(b0.frames.max().item<float>(), 1.f);
  EXPECT_GT(b0.frames.std().item<float>(), 0.01f);  // real pixels, not a blank buffer
  const auto b1 = batches.batch(0, 1);
  EXPECT_EQ(b1.frames.size(0), 2);
  // train.txt lists Happy (label 0 in the list "Happy,Sad") first.
  EXPECT_EQ(b0.labels[0].item<int64_t>(), batches.items()[0].label);
  EXPECT_EQ(b1.labels[1].item<int64_t>(), batches.items()[5].label);
  EXPECT_THROW(batches.batch(0, 2), hesp::InputError);
}

TEST_F(BatchesTest, ClipIsTheSameInAnyBatchOrderAndThreadCount) {
  hesp::train::ClipBatches one(items(), loader(true), {1, false, false, 1});
  hesp::train::ClipBatches shuffled(items(), loader(true), {3, true, false, 2});
  for (int64_t b = 0; b < shuffled.batches_per_epoch(); ++b) {
    const auto batch = shuffled.batch(5, b);
    for (std::size_t i = 0; i < batch.items.size(); ++i) {
      const auto single = one.batch(5, batch.items[i]);
      EXPECT_TRUE(at::equal(single.frames[0], batch.frames[i])) << "item " << batch.items[i];
    }
  }
}

TEST_F(BatchesTest, ShufflingDependsOnEpochAndDropLastDrops) {
  hesp::train::ClipBatches batches(items(), loader(true), {4, true, true, 2});
  EXPECT_EQ(batches.batches_per_epoch(), 1);
  std::set<std::vector<int>> orders;
  for (int epoch = 0; epoch < 4; ++epoch) orders.insert(batches.batch(epoch, 0).items);
  EXPECT_GT(orders.size(), 1u);
  EXPECT_EQ(batches.batch(2, 0).items, batches.batch(2, 0).items);
  // Training augmentation changes between epochs for the same clip.
  hesp::train::ClipBatches plain(items(), loader(true), {1, false, false, 1});
  EXPECT_FALSE(at::equal(plain.batch(0, 0).frames, plain.batch(1, 0).frames));
}

TEST_F(BatchesTest, BadInput) {
  EXPECT_THROW(hesp::train::ClipBatches({}, loader(false), {}), hesp::InputError);
  EXPECT_THROW(hesp::train::ClipBatches(items(), loader(false), {0, false, false, 1}),
               hesp::InputError);
  auto broken = items();
  broken[1].path = path("no-such-folder");
  hesp::train::ClipBatches batches(broken, loader(false), {4, false, false, 2});
  try {
    batches.batch(0, 0);
    FAIL() << "expected an error for the missing folder";
  } catch (const hesp::Error& e) {
    // The item's annotation line, with the cause nested inside.
    EXPECT_NE(std::string(e.what()).find("train.txt:2:"), std::string::npos) << e.what();
  }
}

TEST(ClipNormalize, UsesClipStatistics) {
  const at::Tensor gray = at::full({1, 3, 2, 2}, 0.5f);
  const at::Tensor n = hesp::clip::clip_normalize(gray);
  EXPECT_NEAR(n[0][0][0][0].item<float>(), (0.5 - 0.48145466) / 0.26862954, 1e-5);
  EXPECT_NEAR(n[0][2][1][1].item<float>(), (0.5 - 0.40821073) / 0.27577711, 1e-5);
}

TEST(RandomClip, GeometryStringsRoundTripAndBadOnesAreNamed) {
  const auto g = hesp::clip::parse_geometry(
      "image=32,patch=16,width=64,layers=1,text-width=64,"
      "text-layers=1,embed=32,context=24");
  EXPECT_EQ(g.vision.grid(), 2);
  EXPECT_EQ(g.text.embed_dim, 32);
  EXPECT_EQ(g.vision.heads, 1);
  EXPECT_EQ(hesp::clip::geometry_text(g),
            "image=32,patch=16,width=64,layers=1,text-width=64,text-layers=1,embed=32,context=24");
  EXPECT_THROW(hesp::clip::parse_geometry("image=30,patch=16"), hesp::SettingsError);
  EXPECT_THROW(hesp::clip::parse_geometry("width=100"), hesp::SettingsError);
  EXPECT_THROW(hesp::clip::parse_geometry("depth=2"), hesp::SettingsError);
  EXPECT_THROW(hesp::clip::parse_geometry("layers=two"), hesp::SettingsError);

  // OpenAI's ResNet tower: bottlenecks per stage; the attention pool's heads follow its rule.
  const auto r = hesp::clip::parse_geometry(
      "resnet=1-2-1-1,image=64,width=16,text-width=64,text-layers=1,embed=32");
  EXPECT_TRUE(r.vision.resnet());
  EXPECT_EQ(r.vision.layers, 5);
  EXPECT_EQ(r.vision.heads, 8);  // 32 x 16 channels / 64
  EXPECT_EQ(r.vision.grid(), 2);
  EXPECT_EQ(hesp::clip::geometry_text(r),
            "resnet=1-2-1-1,image=64,width=16,text-width=64,text-layers=1,embed=32,context=77");
  EXPECT_EQ(hesp::clip::geometry_text(hesp::clip::parse_geometry(hesp::clip::geometry_text(r))),
            hesp::clip::geometry_text(r));
  for (const char* bad : {"resnet=1-1-1", "resnet=1-1-1-0", "resnet=a-1-1-1", "resnet=1-1-1-1-1",
                          "resnet=1-1-1-1,image=48", "resnet=1-1-1-1,width=15"})
    EXPECT_THROW(hesp::clip::parse_geometry(bad), hesp::SettingsError) << bad;
  // A ResNet CLIP from scratch runs forward.
  auto model = hesp::clip::random_clip_model(r, 3);
  EXPECT_EQ(model->encode_image(torch::rand({2, 3, 64, 64})).sizes(),
            (std::vector<int64_t>{2, 32}));
}

TEST(RandomClip, SeededAndLoadsBackUnderOpenAiNames) {
  const auto g = hesp::clip::parse_geometry(
      "image=32,patch=16,width=64,layers=1,text-width=64,text-layers=1,embed=32,context=24");
  auto a = hesp::clip::random_clip_model(g, 7);
  auto b = hesp::clip::random_clip_model(g, 7);
  auto c = hesp::clip::random_clip_model(g, 8);
  const auto ta = hesp::clip::openai_tensors(*a);
  const auto tb = hesp::clip::openai_tensors(*b);
  const auto tc = hesp::clip::openai_tensors(*c);
  ASSERT_TRUE(ta.count("token_embedding.weight"));
  ASSERT_TRUE(ta.count("visual.conv1.weight"));
  for (const auto& [name, t] : ta) EXPECT_TRUE(at::equal(t, tb.at(name))) << name;
  EXPECT_FALSE(at::equal(ta.at("visual.proj"), tc.at("visual.proj")));
  EXPECT_NEAR(ta.at("token_embedding.weight").std().item<double>(), 0.02, 0.002);

  // The names are the checkpoint names: build_model takes them back and computes the same thing.
  auto loaded = hesp::clip::build_model(ta, "random");
  EXPECT_EQ(loaded->geometry().vision.image_size, 32);
  a->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor images = at::randn({2, 3, 32, 32});
  EXPECT_TRUE(
      at::allclose(a->visual->forward(images), loaded->visual->forward(images), 1e-5, 1e-6));
}

}  // namespace

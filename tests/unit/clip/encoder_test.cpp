// SPDX-License-Identifier: LGPL-2.1-or-later
// The CLIP encoders against outputs of the reference PyTorch model for a tiny checkpoint in
// OpenAI's format (random weights, real layout), and the batching/preprocessing entry points.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "clip_reference.h"
#include "hesp/clip_encoder.h"
#include "hesp/clip_preprocess.h"
#include "hesp/error.h"
#include "hesp/face_clips.h"
#include "hesp/tokenizer.h"
#include "shared_per_suite.h"
#include "test_data.h"

namespace {

using hesp::ClipEncoder;
using hesp::ClipOptions;
using hesp::Embeddings;

const hesp::test::ClipReference& ref() {
  static const hesp::test::ClipReference r("tiny-openai-format");
  return r;
}

using hesp::test::max_abs_diff;

class ClipEncoderTest : public hesp::test::SharedPerSuite<ClipEncoderTest, ClipEncoder> {
 public:
  static std::string required_file() { return ref().checkpoint(); }
  static std::unique_ptr<ClipEncoder> make() {
    ClipOptions options;
    options.threads = 2;
    return ClipEncoder::load(ref().checkpoint(), options);
  }
};

TEST_F(ClipEncoderTest, GeometryComesFromTheCheckpoint) {
  const auto& config = ref().json().at("config");
  const hesp::ClipGeometry& g = shared_->geometry();
  EXPECT_EQ(g.image_size, config.at("image_resolution").get<int>());
  EXPECT_EQ(g.patch_size, config.at("vision_patch_size").get<int>());
  EXPECT_EQ(g.vision_width, config.at("vision_width").get<int>());
  EXPECT_EQ(g.vision_layers, config.at("vision_layers").get<int>());
  EXPECT_EQ(g.vision_heads, config.at("vision_width").get<int>() / 64);
  EXPECT_EQ(g.text_width, config.at("transformer_width").get<int>());
  EXPECT_EQ(g.text_layers, config.at("transformer_layers").get<int>());
  EXPECT_EQ(g.text_heads, config.at("transformer_heads").get<int>());
  EXPECT_EQ(g.context_length, config.at("context_length").get<int>());
  EXPECT_EQ(g.vocab_size, config.at("vocab_size").get<int>());
  EXPECT_EQ(g.embed_dim, config.at("embed_dim").get<int>());
  EXPECT_EQ(shared_->input_size(), 64);
  EXPECT_NEAR(shared_->logit_scale(), ref().json().at("logit_scale").get<float>(), 1e-3);
}

TEST_F(ClipEncoderTest, TextEmbeddingsMatchReference) {
  const auto tokens = ref().tokens();
  const auto& expected = ref().json().at("text_embeddings");
  ASSERT_EQ(tokens.size(), expected.size());
  const Embeddings e = shared_->encode_text(tokens);
  ASSERT_EQ(e.count, static_cast<int>(tokens.size()));
  for (int i = 0; i < e.count; ++i)
    EXPECT_LT(max_abs_diff(e, i, expected[i].at("embedding").get<std::vector<float>>()), 1e-4)
        << expected[i].at("text");
}

TEST_F(ClipEncoderTest, PaddedTokensGiveTheSameEmbeddings) {
  // Rows are cut after their end token internally; padding to 77 must not change anything.
  auto tokens = ref().tokens();
  const Embeddings plain = shared_->encode_text(tokens);
  for (auto& row : tokens) row.resize(77, 0);
  EXPECT_LT(max_abs_diff(shared_->encode_text(tokens), plain), 1e-5);
}

TEST_F(ClipEncoderTest, TokenizerFeedsTheTextEncoder) {
  HESP_REQUIRE_FILE(hesp::test::clip_vocab_path());
  const hesp::Tokenizer tokenizer(hesp::test::clip_vocab_path());
  for (const auto& t : ref().json().at("tokens"))
    EXPECT_EQ(tokenizer.tokenize(t.at("text").get<std::string>(), 77, false),
              t.at("ids").get<std::vector<int>>());
}

TEST_F(ClipEncoderTest, RawImageEmbeddingsMatchReference) {
  const std::vector<float> input = ref().raw_inputs();
  const auto& expected = ref().json().at("image_embeddings_raw");
  const Embeddings e = shared_->encode_images(input.data(), 4);
  ASSERT_EQ(e.count, 4);
  ASSERT_EQ(expected.size(), 4u);
  for (int i = 0; i < 4; ++i)
    EXPECT_LT(max_abs_diff(e, i, expected[i].get<std::vector<float>>()), 1e-4) << "image " << i;
}

TEST_F(ClipEncoderTest, PreprocessedPhotosMatchReference) {
  const auto& expected = ref().json().at("image_embeddings_preprocessed");
  for (const auto& item : expected) {
    const std::string name = item.at("image").get<std::string>();  // sampleN.jpg
    const int n = std::stoi(name.substr(6));
    const std::string path = hesp::test::demo_photo(n);
    HESP_REQUIRE_FILE(path);
    const hesp::RgbImage image = hesp::read_rgb_image(path);
    const Embeddings e = shared_->encode_rgb_images(
        {{image.pixels.data(), image.width, image.height, image.width * 3}});
    const auto want = item.at("embedding").get<std::vector<float>>();
    const float cosine = hesp::cosine_similarity(e.row(0), want.data(), e.dim);
    // 0.99 is what the reference data promises across resamplers; the resampler here is
    // Pillow's own arithmetic, so agreement is far closer than that.
    EXPECT_GE(cosine, 0.9999f) << name;
    RecordProperty(name + "_cosine", std::to_string(cosine));
  }
}

TEST_F(ClipEncoderTest, BatchSizeAndKernelsDoNotChangeResults) {
  const std::vector<float> input = ref().raw_inputs();
  const Embeddings reference_run = shared_->encode_images(input.data(), 4);
  const auto tokens = ref().tokens();
  const Embeddings reference_text = shared_->encode_text(tokens);

  ClipOptions one_at_a_time;
  one_at_a_time.max_batch = 1;
  const auto small = ClipEncoder::load(ref().checkpoint(), one_at_a_time);
  EXPECT_LT(max_abs_diff(small->encode_images(input.data(), 4), reference_run), 1e-5);
  EXPECT_LT(max_abs_diff(small->encode_text(tokens), reference_text), 1e-5);

  ClipOptions plain_aten;
  plain_aten.use_onednn = false;
  const auto aten = ClipEncoder::load(ref().checkpoint(), plain_aten);
  EXPECT_LT(max_abs_diff(aten->encode_images(input.data(), 4), reference_run), 1e-4);
  EXPECT_LT(max_abs_diff(aten->encode_text(tokens), reference_text), 1e-4);
}

TEST_F(ClipEncoderTest, BFloat16StaysCloseToFloat32) {
  ClipOptions options;
  options.precision = hesp::ClipPrecision::kBFloat16;
  std::unique_ptr<ClipEncoder> bf16;
  try {
    bf16 = ClipEncoder::load(ref().checkpoint(), options);
  } catch (const hesp::SettingsError& e) {
    GTEST_SKIP() << "no bf16 on this machine: " << e.what();
  }
  const std::vector<float> input = ref().raw_inputs();
  const Embeddings a = shared_->encode_images(input.data(), 4);
  const Embeddings b = bf16->encode_images(input.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_GE(hesp::cosine_similarity(a.row(i), b.row(i), a.dim), 0.999f);
  const auto tokens = ref().tokens();
  const Embeddings ta = shared_->encode_text(tokens);
  const Embeddings tb = bf16->encode_text(tokens);
  for (int i = 0; i < ta.count; ++i)
    EXPECT_GE(hesp::cosine_similarity(ta.row(i), tb.row(i), ta.dim), 0.999f) << i;
}

// Random RGB crops of a given size, back to back.
std::vector<std::uint8_t> random_crops(int n, int size, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(static_cast<std::size_t>(n) * size * size * 3);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng() & 0xFF);
  return v;
}

TEST_F(ClipEncoderTest, CropsOfInputSizeAreOnlyNormalised) {
  const int s = shared_->input_size();
  const auto crops = random_crops(3, s, 1);
  std::vector<float> nchw(static_cast<std::size_t>(3) * 3 * s * s);
  for (int i = 0; i < 3; ++i)
    for (int y = 0; y < s; ++y)
      for (int x = 0; x < s; ++x)
        for (int c = 0; c < 3; ++c)
          nchw[((static_cast<std::size_t>(i) * 3 + c) * s + y) * s + x] =
              (crops[((static_cast<std::size_t>(i) * s + y) * s + x) * 3 + c] / 255.0f -
               hesp::kClipMean[c]) /
              hesp::kClipStd[c];
  EXPECT_LT(max_abs_diff(shared_->encode_rgb_crops(crops.data(), 3, s),
                         shared_->encode_images(nchw.data(), 3)),
            1e-6);
}

TEST_F(ClipEncoderTest, ClipsAreBatchedAcrossTracksInOrder) {
  const int size = 96;  // not the input size: frames get resized
  hesp::Clip a, b;
  a.track_id = 1;
  a.crop_size = size;
  a.n_frames = a.n_real_frames = 3;
  a.frames = random_crops(3, size, 2);
  b.track_id = 2;
  b.crop_size = size;
  b.n_frames = b.n_real_frames = 2;
  b.frames = random_crops(2, size, 3);
  const Embeddings both = shared_->encode_clips({&a, &b});
  ASSERT_EQ(both.count, 5);
  const Embeddings ea = shared_->encode_rgb_crops(a.frames.data(), 3, size);
  const Embeddings eb = shared_->encode_rgb_crops(b.frames.data(), 2, size);
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < both.dim; ++k) EXPECT_NEAR(both.row(i)[k], ea.row(i)[k], 1e-5);
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < both.dim; ++k) EXPECT_NEAR(both.row(3 + i)[k], eb.row(i)[k], 1e-5);

  hesp::Clip broken = a;
  broken.frames.pop_back();
  EXPECT_THROW(shared_->encode_clips({&broken}), hesp::InputError);
}

TEST_F(ClipEncoderTest, CanBeCalledFromSeveralThreads) {
  const std::vector<float> input = ref().raw_inputs();
  const auto tokens = ref().tokens();
  const Embeddings images = shared_->encode_images(input.data(), 4);
  const Embeddings texts = shared_->encode_text(tokens);
  std::vector<float> worst(4, 0.f);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        worst[t] = std::max(worst[t],
                            t % 2 ? max_abs_diff(shared_->encode_text(tokens), texts)
                                  : max_abs_diff(shared_->encode_images(input.data(), 4), images));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (float w : worst) EXPECT_LT(w, 1e-5);
}

TEST_F(ClipEncoderTest, RejectsTokensThatDoNotFit) {
  EXPECT_THROW(shared_->encode_text({{49406, 49408, 49407}}), hesp::InputError);
  EXPECT_THROW(shared_->encode_text({{49406, -1, 49407}}), hesp::InputError);
  EXPECT_THROW(shared_->encode_text({std::vector<int>(78, 1)}), hesp::InputError);
  EXPECT_THROW(shared_->encode_text({{}}), hesp::InputError);
  EXPECT_EQ(shared_->encode_text({}).count, 0);
}

TEST_F(ClipEncoderTest, RejectsBadOptions) {
  ClipOptions bad_device;
  bad_device.device = "tpu";
  EXPECT_THROW(ClipEncoder::load(ref().checkpoint(), bad_device), hesp::SettingsError);
  ClipOptions bad_batch;
  bad_batch.max_batch = 0;
  EXPECT_THROW(ClipEncoder::load(ref().checkpoint(), bad_batch), hesp::SettingsError);
}

TEST(EmbeddingsTest, NormalizeMakesUnitRows) {
  Embeddings e;
  e.count = 2;
  e.dim = 2;
  e.values = {3.f, 4.f, 0.f, 0.f};
  e.normalize();
  EXPECT_FLOAT_EQ(e.row(0)[0], 0.6f);
  EXPECT_FLOAT_EQ(e.row(0)[1], 0.8f);
  EXPECT_EQ(e.row(1)[0], 0.f);
  EXPECT_FLOAT_EQ(hesp::cosine_similarity(e.row(0), e.row(0), 2), 1.f);
}

}  // namespace

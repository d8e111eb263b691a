// SPDX-License-Identifier: LGPL-2.1-or-later
// The CLIP encoders with OpenAI's ResNet image tower, against outputs of the reference PyTorch
// model for a tiny RN checkpoint in OpenAI's format (random weights, BatchNorm statistics from
// random images, real layout), and a clip-zeroshot pack made from it.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "clip_reference.h"
#include "hesp/clip_encoder.h"
#include "hesp/clip_preprocess.h"
#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "run_hesp.h"
#include "scratch.h"
#include "shared_per_suite.h"
#include "test_data.h"

namespace {

using hesp::ClipEncoder;
using hesp::ClipOptions;
using hesp::Embeddings;

const hesp::test::ClipReference& ref() {
  static const hesp::test::ClipReference r("tiny-openai-rn");
  return r;
}

using hesp::test::max_abs_diff;

class ResNetEncoderTest : public hesp::test::SharedPerSuite<ResNetEncoderTest, ClipEncoder> {
 public:
  static std::string required_file() { return ref().checkpoint(); }
  static std::unique_ptr<ClipEncoder> make() {
    ClipOptions options;
    options.threads = 2;
    return ClipEncoder::load(ref().checkpoint(), options);
  }
};

TEST_F(ResNetEncoderTest, GeometryComesFromTheCheckpoint) {
  const auto& config = ref().json().at("config");
  const hesp::ClipGeometry& g = shared_->geometry();
  EXPECT_EQ(g.image_tower, hesp::ClipImageTower::kResNet);
  EXPECT_EQ(g.image_size, config.at("image_resolution").get<int>());
  EXPECT_EQ(g.patch_size, 0);
  EXPECT_EQ(g.vision_width, config.at("vision_width").get<int>());
  EXPECT_EQ(g.vision_stage_blocks, config.at("vision_layers").get<std::vector<int>>());
  EXPECT_EQ(g.vision_layers, 4);
  EXPECT_EQ(g.vision_heads, config.at("vision_width").get<int>() * 32 / 64);
  EXPECT_EQ(g.text_width, config.at("transformer_width").get<int>());
  EXPECT_EQ(g.text_layers, config.at("transformer_layers").get<int>());
  EXPECT_EQ(g.text_heads, config.at("transformer_heads").get<int>());
  EXPECT_EQ(g.context_length, config.at("context_length").get<int>());
  EXPECT_EQ(g.vocab_size, config.at("vocab_size").get<int>());
  EXPECT_EQ(g.embed_dim, config.at("embed_dim").get<int>());
  EXPECT_NEAR(shared_->logit_scale(), ref().json().at("logit_scale").get<float>(), 1e-3);
}

TEST_F(ResNetEncoderTest, RawImageEmbeddingsMatchReference) {
  const std::vector<float> input = ref().raw_inputs();
  const auto& expected = ref().json().at("image_embeddings_raw");
  ASSERT_EQ(expected.size(), 4u);
  const Embeddings e = shared_->encode_images(input.data(), 4);
  ASSERT_EQ(e.count, 4);
  for (int i = 0; i < 4; ++i) {
    const float diff = max_abs_diff(e, i, expected[i].get<std::vector<float>>());
    EXPECT_LT(diff, 1e-4) << "image " << i;
    RecordProperty("raw_max_abs_diff_" + std::to_string(i), std::to_string(diff));
  }
}

TEST_F(ResNetEncoderTest, TextEmbeddingsMatchReference) {
  const auto tokens = ref().tokens();
  const auto& expected = ref().json().at("text_embeddings");
  ASSERT_EQ(tokens.size(), expected.size());
  const Embeddings e = shared_->encode_text(tokens);
  ASSERT_EQ(e.count, static_cast<int>(tokens.size()));
  for (int i = 0; i < e.count; ++i)
    EXPECT_LT(max_abs_diff(e, i, expected[i].at("embedding").get<std::vector<float>>()), 1e-4)
        << expected[i].at("text");
}

TEST_F(ResNetEncoderTest, PreprocessedPhotosMatchReference) {
  const auto& names = ref().json().at("images");
  const auto& expected = ref().json().at("image_embeddings_preprocessed");
  ASSERT_EQ(names.size(), expected.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string name = names[i].get<std::string>();  // sampleN.jpg
    const std::string path = hesp::test::demo_photo(std::stoi(name.substr(6)));
    HESP_REQUIRE_FILE(path);
    const hesp::RgbImage image = hesp::read_rgb_image(path);
    const Embeddings e = shared_->encode_rgb_images(
        {{image.pixels.data(), image.width, image.height, image.width * 3}});
    const auto want = expected[i].get<std::vector<float>>();
    ASSERT_EQ(e.dim, static_cast<int>(want.size()));
    const float cosine = hesp::cosine_similarity(e.row(0), want.data(), e.dim);
    // 0.99 is what the reference data promises across resamplers.
    EXPECT_GE(cosine, 0.99f) << name;
    RecordProperty(name + "_cosine", std::to_string(cosine));
  }
}

TEST_F(ResNetEncoderTest, BatchSizeAndLayoutDoNotChangeResults) {
  const std::vector<float> input = ref().raw_inputs();
  const Embeddings reference_run = shared_->encode_images(input.data(), 4);

  ClipOptions one_at_a_time;
  one_at_a_time.max_batch = 1;
  EXPECT_LT(
      max_abs_diff(
          ClipEncoder::load(ref().checkpoint(), one_at_a_time)->encode_images(input.data(), 4),
          reference_run),
      1e-5);
  // Without oneDNN the tower runs on contiguous NCHW activations and at::linear.
  ClipOptions plain_aten;
  plain_aten.use_onednn = false;
  EXPECT_LT(max_abs_diff(
                ClipEncoder::load(ref().checkpoint(), plain_aten)->encode_images(input.data(), 4),
                reference_run),
            1e-4);
}

TEST_F(ResNetEncoderTest, BFloat16StaysCloseToFloat32) {
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
}

TEST_F(ResNetEncoderTest, ZeroShotPackRoundTrip) {
  HESP_REQUIRE_FILE(hesp::test::clip_vocab_path());
  hesp::test::TempDir dir;
  hesp::ClipZeroShotConvertOptions o;
  o.checkpoint = ref().checkpoint();
  o.vocab_path = hesp::test::clip_vocab_path();
  o.classes = {"happy", "sad"};
  o.output_path = dir.file("rn.safetensors");
  const hesp::ClipZeroShotConvertReport report = hesp::convert_openai_clip(o);
  EXPECT_EQ(report.input_size, 64);
  EXPECT_EQ(report.embed_dim, 64);

  const hesp::ModelPack pack = hesp::ModelPack::open(o.output_path);
  const auto& arch = pack.manifest().at("architecture");
  EXPECT_EQ(arch.at("type"), "openai-clip-resnet");
  EXPECT_EQ(arch.at("vision_layers").get<std::vector<int>>(), (std::vector<int>{1, 1, 1, 1}));
  EXPECT_EQ(arch.at("vision_width"), 16);
  EXPECT_EQ(arch.at("vision_heads"), 8);
  EXPECT_EQ(arch.at("image_size"), 64);
  // BatchNorm statistics travel in the pack, in the checkpoint's dtype (fp32).
  const hesp::TensorInfo& mean = pack.tensor("clip.visual.layer1.0.bn1.running_mean");
  EXPECT_EQ(mean.dtype, hesp::DType::kF32);
  EXPECT_EQ(pack.tensor("clip.visual.layer1.0.conv1.weight").dtype, hesp::DType::kF16);

  // The pack loads back as a CLIP checkpoint and gives the same embeddings.
  const auto from_pack = ClipEncoder::load(o.output_path);
  EXPECT_EQ(from_pack->geometry().image_tower, hesp::ClipImageTower::kResNet);
  const std::vector<float> input = ref().raw_inputs();
  EXPECT_EQ(from_pack->encode_images(input.data(), 4).values,
            shared_->encode_images(input.data(), 4).values);
  const auto tokens = ref().tokens();
  EXPECT_EQ(from_pack->encode_text(tokens).values, shared_->encode_text(tokens).values);

  // `hesp info` describes the ResNet tower.
  HESP_REQUIRE_FILE(hesp::test::hesp_exe());
  const hesp::test::HespRun info = hesp::test::run_hesp({"info", o.output_path});
  ASSERT_EQ(info.status, 0) << info.out;
  EXPECT_NE(info.out.find("model     CLIP, ResNet image tower (bottlenecks 1-1-1-1, width 16, "
                          "attention pool 8 heads), text 2 x 128, embed 64"),
            std::string::npos)
      << info.out;
}

TEST_F(ResNetEncoderTest, EmbedCommandMatchesReference) {
  HESP_REQUIRE_FILE(hesp::test::hesp_exe());
  const hesp::test::HespRun r =
      hesp::test::run_hesp({"embed", ref().checkpoint(), "--raw-input",
                            ref().dir() + "/raw_inputs.f32", "--shape", "4,3,64,64"});
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  int row = 0;
  const auto& expected = ref().json().at("image_embeddings_raw");
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ASSERT_LT(row, 4) << r.out;
    const auto got = nlohmann::json::parse(line).get<std::vector<float>>();
    const auto want = expected[row].get<std::vector<float>>();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4);
    ++row;
  }
  EXPECT_EQ(row, 4);
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
// Loading CLIP checkpoints: what is accepted, and that every kind of wrong file fails with a
// message that says what is wrong. Bad checkpoints are made here from the tiny OpenAI-format one.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/serialize.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "clip/clip_checkpoint.h"
#include "error_capture.h"
#include "hesp/clip_encoder.h"
#include "hesp/error.h"
#include "scratch.h"
#include "test_data.h"

namespace {

using hesp::ClipEncoder;

std::string tiny_checkpoint() {
  return hesp::test::shared_path("clip/tiny-openai-format/clip_openai_format.pt");
}

using hesp::test::contains;
using hesp::test::read_bytes;
using hesp::test::TempDir;
using hesp::test::write_bytes;

// Writes tensors the way torch.save writes a state dict.
void save_state_dict(const hesp::clip::TensorMap& tensors, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t);
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_bytes(path, std::string(bytes.begin(), bytes.end()));
}

// The error message of loading `path`, checking the exception type.
template <typename E>
std::string load_error(const std::string& path) {
  return hesp::test::error_message<E>([&] { ClipEncoder::load(path); });
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override { HESP_REQUIRE_FILE(tiny_checkpoint()); }
  hesp::clip::TensorMap tiny() { return hesp::clip::read_checkpoint_tensors(tiny_checkpoint()); }
  TempDir dir_;
};

TEST_F(CheckpointTest, ReadsOpenAITensorsWithTheirStoredTypes) {
  const auto tensors = tiny();
  EXPECT_EQ(tensors.size(), 62u);
  EXPECT_EQ(tensors.at("visual.conv1.weight").scalar_type(), at::kHalf);
  EXPECT_EQ(tensors.at("visual.ln_pre.weight").scalar_type(), at::kFloat);
  const auto model = hesp::clip::build_model(tensors, "tiny");
  for (const auto& p : model->parameters()) {
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    EXPECT_FALSE(p.requires_grad());
  }
  EXPECT_TRUE(at::equal(model->text->token_embedding->weight,
                        tensors.at("token_embedding.weight").to(at::kFloat)));
}

TEST_F(CheckpointTest, NameMappingIsOneToOne) {
  for (const std::string name : {"visual.proj", "logit_scale", "token_embedding.weight",
                                 "transformer.resblocks.0.attn.in_proj_weight"})
    EXPECT_EQ(hesp::clip::openai_name_for(hesp::clip::model_name_for(name)), name);
  EXPECT_EQ(hesp::clip::model_name_for("ln_final.bias"), "text.ln_final.bias");
}

TEST_F(CheckpointTest, StateDictGivesTheSameModelAsTheArchive) {
  const std::string path = dir_.file("state_dict.pt");
  save_state_dict(tiny(), path);
  const auto a = ClipEncoder::load(tiny_checkpoint());
  const auto b = ClipEncoder::load(path);
  const std::vector<std::vector<int>> tokens = {{49406, 320, 1125, 49407}};
  EXPECT_EQ(a->encode_text(tokens).values, b->encode_text(tokens).values);
}

TEST_F(CheckpointTest, MissingFileIsNotFound) {
  const std::string msg = load_error<hesp::FileNotFoundError>(dir_.file("absent.pt"));
  EXPECT_TRUE(contains(msg, "absent.pt")) << msg;
}

TEST_F(CheckpointTest, TruncatedArchiveIsCorrupt) {
  std::string bytes = read_bytes(tiny_checkpoint());
  bytes.resize(bytes.size() / 2);
  const std::string path = dir_.file("truncated.pt");
  write_bytes(path, bytes);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "truncated.pt")) << msg;
  EXPECT_TRUE(contains(msg, "not a TorchScript archive")) << msg;
}

TEST_F(CheckpointTest, RandomBytesAreCorrupt) {
  std::mt19937 rng(11);
  std::string bytes(50000, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
  const std::string path = dir_.file("random.pt");
  write_bytes(path, bytes);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "not a TorchScript archive")) << msg;
}

TEST_F(CheckpointTest, OtherTorchScriptModuleIsNotClip) {
  torch::jit::Module module("SomethingElse");
  module.register_parameter("weight", torch::ones({4, 4}), false);
  const std::string path = dir_.file("other.pt");
  module.save(path);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "is not a CLIP checkpoint")) << msg;
  EXPECT_TRUE(contains(msg, "visual.conv1.weight")) << msg;
}

TEST_F(CheckpointTest, OddShapeInArchiveNamesTensorAndExpectedShape) {
  torch::jit::Module module = torch::jit::load(tiny_checkpoint());
  torch::jit::Module c_fc = module.attr("visual")
                                .toModule()
                                .attr("transformer")
                                .toModule()
                                .attr("resblocks")
                                .toModule()
                                .attr("1")
                                .toModule()
                                .attr("mlp")
                                .toModule()
                                .attr("c_fc")
                                .toModule();
  c_fc.register_parameter("weight", torch::zeros({512, 100}, torch::kHalf), false);
  const std::string path = dir_.file("odd.pt");
  module.save(path);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "visual.transformer.resblocks.1.mlp.c_fc.weight")) << msg;
  EXPECT_TRUE(contains(msg, "[512, 100]")) << msg;
  EXPECT_TRUE(contains(msg, "expected [512, 128]")) << msg;
}

// A state dict with one tensor removed, replaced or added fails to load with an error that names
// what is wrong.
struct TensorEdit {
  const char* test;
  const char* name;            // the tensor
  std::vector<int64_t> shape;  // empty: remove the tensor
  const char* file;
  std::string (*error)(const std::string&);  // load_error<the expected type>
  std::vector<std::string> message_parts;
};

const TensorEdit kTensorEdits[] = {
    {"MissingTensorIsNamed",
     "ln_final.bias",
     {},
     "missing.pt",
     load_error<hesp::CorruptFileError>,
     {"no tensor 'ln_final.bias'", "[128]"}},
    {"GeometryTensorWithWrongRankIsNamed",
     "visual.conv1.weight",
     {128, 768},
     "flat_conv.pt",
     load_error<hesp::CorruptFileError>,
     {"visual.conv1.weight", "expected [width, 3, patch, patch]"}},
    {"UnknownTensorIsRejected",
     "visual.adapter.weight",
     {4},
     "extra.pt",
     load_error<hesp::CorruptFileError>,
     {"visual.adapter.weight"}},
    {"MixedImageTowersAreRejected",
     "visual.layer1.0.conv1.weight",
     {64, 64, 1, 1},
     "mixed.pt",
     load_error<hesp::CorruptFileError>,
     {"both a ResNet image tower", "visual.transformer"}},
};

TEST_F(CheckpointTest, EditedStateDictsFailWithTheirErrors) {
  for (const TensorEdit& edit : kTensorEdits) {
    SCOPED_TRACE(edit.test);
    auto tensors = tiny();
    if (edit.shape.empty())
      tensors.erase(edit.name);
    else
      tensors[edit.name] = torch::zeros(edit.shape);
    const std::string path = dir_.file(edit.file);
    save_state_dict(tensors, path);
    const std::string msg = edit.error(path);
    for (const std::string& part : edit.message_parts) EXPECT_TRUE(contains(msg, part)) << msg;
  }
}

// The same for the ResNet tower, edited from the tiny RN checkpoint.
std::string tiny_rn_checkpoint() {
  return hesp::test::shared_path("clip/tiny-openai-rn/clip_openai_format.pt");
}

const TensorEdit kResNetEdits[] = {
    {"MissingBatchNormStatisticIsNamed",
     "visual.layer1.0.bn2.running_var",
     {},
     "rn_missing_var.pt",
     load_error<hesp::CorruptFileError>,
     {"no tensor 'visual.layer1.0.bn2.running_var'", "[16]"}},
    {"PoolPositionsOfTheWrongWidthAreNamed",
     "visual.attnpool.positional_embedding",
     {5, 256},
     "rn_pool_width.pt",
     load_error<hesp::CorruptFileError>,
     {"visual.attnpool.positional_embedding", "[5, 256]", "expected [grid * grid + 1, 512]"}},
    {"PoolPositionsOffTheGridAreNamed",
     "visual.attnpool.positional_embedding",
     {6, 512},
     "rn_pool_grid.pt",
     load_error<hesp::CorruptFileError>,
     {"visual.attnpool.positional_embedding", "[6, 512]"}},
    {"OddWidthIsNamed",
     "visual.layer1.0.conv1.weight",
     {15, 16, 1, 1},
     "rn_odd_width.pt",
     load_error<hesp::CorruptFileError>,
     {"visual.layer1.0.conv1.weight", "even width"}},
    {"WrongShortcutShapeIsNamed",
     "visual.layer3.0.downsample.0.weight",
     {128, 64, 3, 3},
     "rn_shortcut.pt",
     load_error<hesp::CorruptFileError>,
     {"visual.layer3.0.downsample.0.weight", "[128, 64, 3, 3]", "expected [256, 128, 1, 1]"}},
    {"GapInTheBlocksIsNamed",
     "visual.layer2.2.conv1.weight",
     {128, 128, 1, 1},
     "rn_gap.pt",
     load_error<hesp::CorruptFileError>,
     {"no tensor 'visual.layer2.1.conv1.weight'"}},
    {"PoolOutputMustMatchTheTextEmbedding",
     "visual.attnpool.c_proj.weight",
     {32, 512},
     "rn_embed.pt",
     load_error<hesp::CorruptFileError>,
     {"image and text embeddings differ in size (32 vs 64)"}},
    {"StemOfTheWrongWidthIsNamed",
     "visual.conv1.weight",
     {16, 3, 3, 3},
     "rn_stem.pt",
     load_error<hesp::CorruptFileError>,
     {"visual.conv1.weight", "[16, 3, 3, 3]", "expected [8, 3, 3, 3]"}},
};

class ResNetCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override { HESP_REQUIRE_FILE(tiny_rn_checkpoint()); }
  hesp::clip::TensorMap tiny_rn() {
    return hesp::clip::read_checkpoint_tensors(tiny_rn_checkpoint());
  }
  TempDir dir_;
};

TEST_F(ResNetCheckpointTest, ReadsBatchNormStatisticsWithTheirStoredTypes) {
  const auto tensors = tiny_rn();
  EXPECT_EQ(hesp::clip::vision_tower(tensors), hesp::clip::VisionTower::kResNet);
  EXPECT_EQ(tensors.at("visual.layer1.0.conv1.weight").scalar_type(), at::kHalf);
  EXPECT_EQ(tensors.at("visual.bn1.running_mean").scalar_type(), at::kFloat);
  EXPECT_EQ(tensors.at("visual.bn1.num_batches_tracked").scalar_type(), at::kLong);
  auto model = hesp::clip::build_model(tensors, "tiny-rn");
  ASSERT_TRUE(model->visual_resnet);
  EXPECT_FALSE(model->visual);
  EXPECT_FALSE(model->image_tower().is_training());
  const auto& bn = model->visual_resnet->layer4[0]->as<hesp::clip::BottleneckImpl>()->bn3;
  EXPECT_TRUE(at::equal(bn->running_var, tensors.at("visual.layer4.0.bn3.running_var")));
  EXPECT_TRUE(at::equal(bn->weight, tensors.at("visual.layer4.0.bn3.weight")));
  // Every tensor of the file found its place (build_model rejects leftovers), buffers included.
  std::size_t placed = 0;
  for (const auto& p : model->named_parameters())
    placed += tensors.count(hesp::clip::openai_name_for(p.key()));
  for (const auto& b : model->named_buffers())
    placed += tensors.count(hesp::clip::openai_name_for(b.key()));
  std::size_t metadata = 0;
  for (const char* name : {"input_resolution", "context_length", "vocab_size"})
    metadata += tensors.count(name);
  EXPECT_EQ(placed + metadata, tensors.size());
}

TEST_F(ResNetCheckpointTest, StateDictWithoutBatchCountersGivesTheSameModel) {
  // Packs keep only floating-point tensors, so BatchNorm's counters are optional.
  auto tensors = tiny_rn();
  for (auto it = tensors.begin(); it != tensors.end();)
    it = it->second.is_floating_point() ? std::next(it) : tensors.erase(it);
  const std::string path = dir_.file("rn_state_dict.pt");
  save_state_dict(tensors, path);
  const auto a = ClipEncoder::load(tiny_rn_checkpoint());
  const auto b = ClipEncoder::load(path);
  std::vector<float> images(2 * 3 * 64 * 64);
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  for (float& v : images) v = normal(rng);
  EXPECT_EQ(a->encode_images(images.data(), 2).values, b->encode_images(images.data(), 2).values);
}

TEST_F(ResNetCheckpointTest, EditedStateDictsFailWithTheirErrors) {
  for (const TensorEdit& edit : kResNetEdits) {
    SCOPED_TRACE(edit.test);
    auto tensors = tiny_rn();
    if (edit.shape.empty())
      tensors.erase(edit.name);
    else
      tensors[edit.name] = torch::zeros(edit.shape, torch::kHalf);
    const std::string path = dir_.file(edit.file);
    save_state_dict(tensors, path);
    const std::string msg = edit.error(path);
    for (const std::string& part : edit.message_parts) EXPECT_TRUE(contains(msg, part)) << msg;
  }
}

TEST_F(ResNetCheckpointTest, MissingStageIsNamed) {
  auto tensors = tiny_rn();
  for (auto it = tensors.begin(); it != tensors.end();)
    it = it->first.rfind("visual.layer4.", 0) == 0 ? tensors.erase(it) : std::next(it);
  const std::string path = dir_.file("rn_three_stages.pt");
  save_state_dict(tensors, path);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "no tensor 'visual.layer4.0.conv1.weight'")) << msg;
  EXPECT_TRUE(contains(msg, "rn_three_stages.pt")) << msg;
}

}  // namespace

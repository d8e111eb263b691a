// SPDX-License-Identifier: LGPL-2.1-or-later
// Loading CLIP checkpoints: what is accepted, and that every kind of wrong file fails with a
// message that says what is wrong. Bad checkpoints are made here from the tiny OpenAI-format one.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/serialize.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "clip/clip_checkpoint.h"
#include "hesp/clip_encoder.h"
#include "hesp/error.h"
#include "test_data.h"

namespace {

using hesp::ClipEncoder;

std::string tiny_checkpoint() {
  return hesp::test::shared_path("clip/tiny-openai-format/clip_openai_format.pt");
}

class TempDir {
 public:
  TempDir() {
    path_ =
        std::filesystem::temp_directory_path() /
        ("hesp-checkpoint-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), {});
}

// Writes tensors the way torch.save writes a state dict.
void save_state_dict(const hesp::clip::TensorMap& tensors, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t);
  write_bytes(path, torch::pickle_save(dict));
}

// The error message of loading `path`, checking the exception type.
template <typename E>
std::string load_error(const std::string& path) {
  try {
    ClipEncoder::load(path);
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "loading " << path << " did not fail";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
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
  std::vector<char> bytes = read_bytes(tiny_checkpoint());
  bytes.resize(bytes.size() / 2);
  const std::string path = dir_.file("truncated.pt");
  write_bytes(path, bytes);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "truncated.pt")) << msg;
  EXPECT_TRUE(contains(msg, "not a TorchScript archive")) << msg;
}

TEST_F(CheckpointTest, RandomBytesAreCorrupt) {
  std::mt19937 rng(11);
  std::vector<char> bytes(50000);
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

TEST_F(CheckpointTest, MissingTensorIsNamed) {
  auto tensors = tiny();
  tensors.erase("ln_final.bias");
  const std::string path = dir_.file("missing.pt");
  save_state_dict(tensors, path);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "no tensor 'ln_final.bias'")) << msg;
  EXPECT_TRUE(contains(msg, "[128]")) << msg;
}

TEST_F(CheckpointTest, GeometryTensorWithWrongRankIsNamed) {
  auto tensors = tiny();
  tensors["visual.conv1.weight"] = torch::zeros({128, 768});
  const std::string path = dir_.file("flat_conv.pt");
  save_state_dict(tensors, path);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "visual.conv1.weight")) << msg;
  EXPECT_TRUE(contains(msg, "expected [width, 3, patch, patch]")) << msg;
}

TEST_F(CheckpointTest, UnknownTensorIsRejected) {
  auto tensors = tiny();
  tensors["visual.adapter.weight"] = torch::zeros({4});
  const std::string path = dir_.file("extra.pt");
  save_state_dict(tensors, path);
  const std::string msg = load_error<hesp::CorruptFileError>(path);
  EXPECT_TRUE(contains(msg, "visual.adapter.weight")) << msg;
}

TEST_F(CheckpointTest, ResNetClipIsUnsupported) {
  auto tensors = tiny();
  tensors["visual.layer1.0.conv1.weight"] = torch::zeros({64, 64, 1, 1});
  const std::string path = dir_.file("rn50.pt");
  save_state_dict(tensors, path);
  const std::string msg = load_error<hesp::SettingsError>(path);
  EXPECT_TRUE(contains(msg, "ResNet")) << msg;
}

}  // namespace

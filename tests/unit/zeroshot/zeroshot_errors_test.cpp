// SPDX-License-Identifier: LGPL-2.1-or-later
// What `hesp convert openai-clip` and clip-zeroshot loading say about bad inputs: each failure is
// a typed error whose message names the file and the problem.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "error_capture.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "zeroshot_support.h"

namespace {

using hesp::test::clip_vocab;
using hesp::test::contains;
using hesp::test::tiny_checkpoint;
using hesp::test::zeroshot_dir;

hesp::ClipZeroShotConvertOptions options(const std::string& out) {
  hesp::ClipZeroShotConvertOptions o;
  o.checkpoint = tiny_checkpoint();
  o.vocab_path = clip_vocab();
  o.classes = {"happy", "sad"};
  o.output_path = zeroshot_dir() + "/" + out;
  return o;
}

template <typename E>
std::string error_of(const hesp::ClipZeroShotConvertOptions& o) {
  return hesp::test::error_message<E>([&] { hesp::convert_openai_clip(o); });
}

class ZeroShotErrors : public ::testing::Test {
 protected:
  void SetUp() override { HESP_REQUIRE_TINY_CLIP(); }
};

TEST_F(ZeroShotErrors, MissingVocabularyIsNamed) {
  auto o = options("no_vocab.safetensors");
  o.vocab_path = zeroshot_dir() + "/missing_vocab.txt.gz";
  const std::string msg = error_of<hesp::FileNotFoundError>(o);
  EXPECT_TRUE(contains(msg, "missing_vocab.txt.gz")) << msg;
}

TEST_F(ZeroShotErrors, BadDescriptionsLineIsNamedWithFileAndLine) {
  const std::string file = zeroshot_dir() + "/bad.tsv";
  hesp::test::write_text(file, "happy\ta smiling face\n# comment\nsad without a tab\n");
  auto o = options("bad_descriptions.safetensors");
  o.classes.clear();
  o.descriptions_path = file;
  const std::string msg = error_of<hesp::CorruptFileError>(o);
  EXPECT_TRUE(contains(msg, file + ":3:")) << msg;
  EXPECT_TRUE(contains(msg, "no tab")) << msg;

  hesp::test::write_text(file, "happy\ta smiling face\t\n");
  const std::string empty = error_of<hesp::CorruptFileError>(o);
  EXPECT_TRUE(contains(empty, file + ":1:")) << empty;
  EXPECT_TRUE(contains(empty, "empty prompt")) << empty;
}

TEST_F(ZeroShotErrors, NamesAndDescriptionsTogetherAreRefused) {
  auto o = options("both.safetensors");
  o.descriptions_path = zeroshot_dir() + "/whatever.tsv";
  error_of<hesp::SettingsError>(o);
  auto t = options("template.safetensors");
  t.templates = {"a face"};
  EXPECT_TRUE(contains(error_of<hesp::SettingsError>(t), "{}"));
}

TEST_F(ZeroShotErrors, OtherTorchScriptModuleIsNotClip) {
  torch::jit::Module module("SomethingElse");
  module.register_parameter("weight", torch::ones({4, 4}), false);
  const std::string path = zeroshot_dir() + "/other.pt";
  module.save(path);
  auto o = options("not_clip.safetensors");
  o.checkpoint = path;
  const std::string msg = error_of<hesp::CorruptFileError>(o);
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "not a CLIP checkpoint")) << msg;
}

TEST_F(ZeroShotErrors, TruncatedPackIsNamed) {
  auto o = options("full.safetensors");
  hesp::convert_openai_clip(o);
  const std::string cut = zeroshot_dir() + "/truncated.safetensors";
  {
    std::ifstream in(o.output_path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  try {
    hesp::ExpressionModel::load(cut);
    ADD_FAILURE() << "a truncated pack loaded";
  } catch (const hesp::CorruptFileError& e) {
    EXPECT_TRUE(contains(e.what(), cut)) << e.what();
  }
}

TEST_F(ZeroShotErrors, PackWithMismatchedEmbeddingsIsRefused) {
  auto o = options("mismatch_src.safetensors");
  hesp::convert_openai_clip(o);
  const hesp::ModelPack pack = hesp::ModelPack::open(o.output_path);
  nlohmann::json manifest = pack.manifest();
  manifest["classes"].push_back("surprised");  // three names, two embeddings
  const std::string path = zeroshot_dir() + "/mismatch.safetensors";
  hesp::write_pack(path, manifest, pack.tensors());
  try {
    hesp::ExpressionModel::load(path);
    ADD_FAILURE() << "a pack with 3 names and 2 embeddings loaded";
  } catch (const hesp::CorruptFileError& e) {
    EXPECT_TRUE(contains(e.what(), "class_text_embeddings")) << e.what();
  }
}

TEST_F(ZeroShotErrors, OtherKindsCannotAddClasses) {
  // A fer-cnn pack: the default pack when the cache has it.
  const std::string pack = hesp::test::cache_path("models/faceapi-expression.safetensors");
  HESP_REQUIRE_FILE(pack);
  auto model = hesp::ExpressionModel::load(pack);
  try {
    model->add_classes({"bored"});
    ADD_FAILURE() << "fer-cnn added a class";
  } catch (const hesp::SettingsError& e) {
    EXPECT_TRUE(contains(e.what(), "cannot add classes")) << e.what();
  }
}

}  // namespace

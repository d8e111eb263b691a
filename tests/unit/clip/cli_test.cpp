// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp tokenize` and `hesp embed` as a user runs them: output format and agreement with the
// reference data, and a failing run's message and exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "run_hesp.h"
#include "test_data.h"

namespace {

std::string clip_dir() { return hesp::test::shared_path("clip"); }
using Result = hesp::test::HespRun;
using hesp::test::hesp_exe;

Result run(const std::vector<std::string>& args) { return hesp::test::run_hesp(args); }

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(hesp_exe());
    HESP_REQUIRE_FILE(clip_dir() + "/bpe_simple_vocab_16e6.txt.gz");
    HESP_REQUIRE_FILE(clip_dir() + "/tiny-openai-format/reference.json");
  }
  const nlohmann::json& reference() {
    static const nlohmann::json j = [this] {
      std::ifstream in(clip_dir() + "/tiny-openai-format/reference.json");
      return nlohmann::json::parse(in);
    }();
    return j;
  }
};

TEST_F(CliTest, TokenizePrintsOneArrayPerText) {
  const Result r = run({"tokenize", "--vocab", clip_dir() + "/bpe_simple_vocab_16e6.txt.gz",
                        "a photo of a happy face.", "neutral"});
  ASSERT_EQ(r.status, 0) << r.out;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].get<std::vector<int>>(),
            (std::vector<int>{49406, 320, 1125, 539, 320, 900, 1710, 269, 49407}));
  EXPECT_EQ(lines[1].get<std::vector<int>>(),
            (std::vector<int>{49406, 17011, 49407}));  // as in the golden file

  const Result padded = run(
      {"tokenize", "--vocab", clip_dir() + "/bpe_simple_vocab_16e6.txt.gz", "--pad", "neutral"});
  ASSERT_EQ(padded.status, 0) << padded.out;
  EXPECT_EQ(json_lines(padded.out).at(0).size(), 77u);
}

TEST_F(CliTest, EmbedTextMatchesReference) {
  const auto& ref = reference().at("text_embeddings");
  const Result r =
      run({"embed", clip_dir() + "/tiny-openai-format/clip_openai_format.pt", "--vocab",
           clip_dir() + "/bpe_simple_vocab_16e6.txt.gz", "--text",
           ref[0].at("text").get<std::string>(), ref[1].at("text").get<std::string>()});
  ASSERT_EQ(r.status, 0) << r.out;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const auto got = lines[i].get<std::vector<float>>();
    const auto want = ref[i].at("embedding").get<std::vector<float>>();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4);
  }
}

TEST_F(CliTest, EmbedRawInputMatchesReferenceAndNormalizes) {
  const std::string dir = clip_dir() + "/tiny-openai-format";
  const Result r = run({"embed", dir + "/clip_openai_format.pt", "--raw-input",
                        dir + "/raw_inputs.f32", "--shape", "4,3,64,64"});
  ASSERT_EQ(r.status, 0) << r.out;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u);
  const auto& ref = reference().at("image_embeddings_raw");
  for (int i = 0; i < 4; ++i) {
    const auto got = lines[i].get<std::vector<float>>();
    const auto want = ref[i].get<std::vector<float>>();
    for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4);
  }
  const Result n = run({"embed", dir + "/clip_openai_format.pt", "--raw-input",
                        dir + "/raw_inputs.f32", "--shape", "4,3,64,64", "--normalize"});
  ASSERT_EQ(n.status, 0) << n.out;
  double sum = 0.0;
  for (float v : json_lines(n.out).at(0).get<std::vector<float>>()) sum += double(v) * v;
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST_F(CliTest, FailuresSayWhatIsWrong) {
  const std::string dir = clip_dir() + "/tiny-openai-format";
  Result r = run({"embed", dir + "/clip_openai_format.pt", "--raw-input", dir + "/raw_inputs.f32",
                  "--shape", "5,3,64,64"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("raw_inputs.f32"), std::string::npos) << r.out;
  r = run({"embed", dir + "/raw_inputs.f32", "--raw-input", dir + "/raw_inputs.f32", "--shape",
           "4,3,64,64"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("not a TorchScript archive"), std::string::npos) << r.out;
  r = run({"tokenize", "--vocab", dir + "/missing.txt.gz", "x"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("missing.txt.gz' not found"), std::string::npos) << r.out;
}

}  // namespace

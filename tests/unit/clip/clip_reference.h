// SPDX-License-Identifier: LGPL-2.1-or-later
// Reference data of a tiny OpenAI-format CLIP checkpoint under $HESP_SHARED_DATA/clip/<name>/
// (reference.json and raw_inputs.f32, written by the reference PyTorch model), and the
// comparisons the encoder tests make against it. The ViT and the ResNet checkpoints share the
// layout, so both encoder tests read them the same way.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hesp/clip_encoder.h"
#include "test_data.h"

namespace hesp::test {

class ClipReference {
 public:
  // `name` is the folder under clip/, e.g. "tiny-openai-format" or "tiny-openai-rn".
  explicit ClipReference(const std::string& name) : dir_(shared_path("clip/" + name)) {}

  const std::string& dir() const { return dir_; }
  std::string checkpoint() const { return dir_ + "/clip_openai_format.pt"; }

  // reference.json, parsed on first use.
  const nlohmann::json& json() const {
    if (json_.is_null()) {
      std::ifstream in(dir_ + "/reference.json");
      json_ = nlohmann::json::parse(in);
    }
    return json_;
  }

  // The four 3x64x64 raw images the reference embedded.
  std::vector<float> raw_inputs() const {
    std::ifstream in(dir_ + "/raw_inputs.f32", std::ios::binary);
    std::vector<float> v(4 * 3 * 64 * 64);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
    EXPECT_TRUE(in.good()) << "raw_inputs.f32 is shorter than 4x3x64x64 floats";
    return v;
  }

  // The token ids the reference's tokenizer produced, one row per prompt.
  std::vector<std::vector<int>> tokens() const {
    std::vector<std::vector<int>> rows;
    for (const auto& t : json().at("tokens")) rows.push_back(t.at("ids").get<std::vector<int>>());
    return rows;
  }

 private:
  std::string dir_;
  mutable nlohmann::json json_;
};

inline std::string clip_vocab_path() { return shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }

// Largest absolute difference between one row and a reference vector.
inline float max_abs_diff(const Embeddings& e, int row, const std::vector<float>& expected) {
  EXPECT_EQ(e.dim, static_cast<int>(expected.size()));
  float worst = 0.f;
  for (int k = 0; k < e.dim && k < static_cast<int>(expected.size()); ++k)
    worst = std::max(worst, std::fabs(e.row(row)[k] - expected[k]));
  return worst;
}

inline float max_abs_diff(const Embeddings& a, const Embeddings& b) {
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.dim, b.dim);
  float worst = 0.f;
  for (std::size_t i = 0; i < a.values.size() && i < b.values.size(); ++i)
    worst = std::max(worst, std::fabs(a.values[i] - b.values[i]));
  return worst;
}

}  // namespace hesp::test

// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared pieces of the clip-zeroshot tests: the tiny CLIP files from the shared test data, and
// packs converted from them once per test program.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "hesp/expression_model.h"
#include "test_data.h"

namespace hesp::test {

inline std::string tiny_checkpoint() {
  return shared_path("clip/tiny-openai-format/clip_openai_format.pt");
}
inline std::string clip_vocab() { return shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }
inline std::string tiny_reference() {
  return shared_path("clip/tiny-openai-format/reference.json");
}

// A folder under the test temp dir, unique per process.
inline std::string zeroshot_dir() {
  static const std::string dir = [] {
    const std::string d = ::testing::TempDir() + "hesp-zeroshot-" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0700);
    return d;
  }();
  return dir;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// n_frames random RGB crops of crop x crop pixels; the same seed gives the same bytes.
inline std::vector<std::uint8_t> random_clip(int n_frames, int crop, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(n_frames) * crop * crop * 3);
  for (auto& b : rgb) b = static_cast<std::uint8_t>(rng() & 0xff);
  return rgb;
}

}  // namespace hesp::test

#define HESP_REQUIRE_TINY_CLIP()                        \
  do {                                                  \
    HESP_REQUIRE_FILE(::hesp::test::tiny_checkpoint()); \
    HESP_REQUIRE_FILE(::hesp::test::clip_vocab());      \
  } while (0)

// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp synth` as a user runs it: frame folders and video files that the data loader reads back,
// and one-line errors with a non-zero exit status.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "hesp/dataset.h"
#include "run_hesp.h"
#include "test_data.h"

namespace fs = std::filesystem;

namespace {

using Result = hesp::test::HespRun;
using hesp::test::hesp_exe;

Result run(const std::vector<std::string>& args) { return hesp::test::run_hesp(args); }

int lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

class SynthCli : public ::testing::Test {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(hesp_exe());
    std::string tmpl = (fs::temp_directory_path() / "hesp-synth-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

std::vector<std::string> common(const std::string& out, const std::string& counts = "2:1") {
  return {"synth",
          "--out",
          out,
          "--seed",
          "4",
          "--classes",
          "Happy,Sad,Surprise",
          "--clips-per-class",
          counts,
          "--frames",
          "8",
          "--size",
          "64",
          "--quiet"};
}

TEST_F(SynthCli, WritesVideosTheLoaderReads) {
  for (const std::string format : {"mp4", "avi"}) {
    const std::string out = dir_ + "/" + format;
    auto args = common(out);
    args.insert(args.end(), {"--format", format});
    const Result r = run(args);
    ASSERT_EQ(r.status, 0) << r.out;
    const auto train = hesp::data::read_annotations(out + "/train.txt");
    ASSERT_EQ(train.items.size(), 6u) << format;
    for (const auto& item : train.items) {
      EXPECT_EQ(item.kind, hesp::data::MediaKind::kVideo) << item.path;
      EXPECT_EQ(item.available_frames, 8) << item.path;
      EXPECT_EQ(fs::path(item.path).extension(), "." + format);
    }
    hesp::data::ClipLoaderOptions o;
    o.num_segments = 8;
    o.augment.size = 64;
    const auto clip = hesp::data::load_clip(train.items[0], o);
    EXPECT_EQ(clip.frame_indices, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
    // Decoded video frames show the face: not one flat colour.
    int lo = 255, hi = 0;
    for (std::uint8_t v : clip.frames) {
      lo = std::min<int>(lo, v);
      hi = std::max<int>(hi, v);
    }
    EXPECT_GT(hi - lo, 100) << format;
  }
}

// Decoded frames are identical for a seed. (The bytes of .avi files are too; .mp4 files differ in
// the creation time that mp4mux stamps into the header.)
TEST_F(SynthCli, SameSeedSameVideoFrames) {
  for (const std::string format : {"avi", "mp4"}) {
    for (const std::string name : {"a", "b"}) {
      auto args = common(dir_ + "/" + format + name, "1:0");
      args.insert(args.end(), {"--format", format});
      ASSERT_EQ(run(args).status, 0);
    }
    const auto a = hesp::data::read_annotations(dir_ + "/" + format + "a/train.txt");
    const auto b = hesp::data::read_annotations(dir_ + "/" + format + "b/train.txt");
    ASSERT_EQ(a.items.size(), b.items.size());
    for (std::size_t i = 0; i < a.items.size(); ++i) {
      const auto fa = hesp::data::read_frames(a.items[i].path, {0, 3, 7});
      const auto fb = hesp::data::read_frames(b.items[i].path, {0, 3, 7});
      for (int k = 0; k < 3; ++k) EXPECT_EQ(fa[k].rgb, fb[k].rgb) << format;
      EXPECT_NE(fa[0].rgb, fa[1].rgb) << format;
    }
  }
}

TEST_F(SynthCli, FramesAndPreview) {
  auto args = common(dir_ + "/frames");
  args.insert(args.end(), {"--image-format", "jpg", "--preview", dir_ + "/sheet.png"});
  const Result r = run(args);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir_ + "/sheet.png"));
  EXPECT_TRUE(fs::exists(dir_ + "/frames/clips/train/Happy/0000/00001.jpg"));
  EXPECT_TRUE(fs::exists(dir_ + "/frames/clips/test/Surprise/0000/00008.jpg"));
  // A second run into the same folder must not silently mix data sets.
  const Result again = run(args);
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.out.find("already holds a data set"), std::string::npos) << again.out;
  EXPECT_EQ(lines(again.out), 1) << again.out;
  args.push_back("--overwrite");
  EXPECT_EQ(run(args).status, 0);
}

TEST_F(SynthCli, BadArgumentsFailWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {"synth", "--out", dir_ + "/x", "--classes", "Happy,Bored"},
      {"synth", "--out", dir_ + "/x", "--clips-per-class", "many"},
      {"synth", "--out", dir_ + "/x", "--format", "mkv"},
      {"synth", "--out", dir_ + "/x", "--format", "mp4", "--size", "65"},
      {"synth"},
  };
  for (const auto& args : cases) {
    const Result r = run(args);
    EXPECT_NE(r.status, 0) << args.back();
    EXPECT_EQ(lines(r.out), 1) << r.out;
    EXPECT_EQ(r.out.rfind("hesp: ", 0), 0u) << r.out;
  }
  EXPECT_NE(run(cases[0]).out.find("Bored"), std::string::npos);
}

}  // namespace

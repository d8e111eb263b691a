// SPDX-License-Identifier: LGPL-2.1-or-later
// Segment sampling arithmetic, clip-consistent augmentation and loading clips from disk.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "hesp/dataset.h"
#include "hesp/error.h"
#include "scratch.h"

namespace fs = std::filesystem;
using hesp::data::sample_indices;
using hesp::data::SamplingMode;
using hesp::data::ShortClipPolicy;

namespace {

TEST(SampleIndices, TestModeTakesSegmentCentres) {
  std::mt19937 rng(1);
  EXPECT_EQ(sample_indices(80, 8, SamplingMode::kTest, rng),
            (std::vector<int>{5, 15, 25, 35, 45, 55, 65, 75}));
  EXPECT_EQ(sample_indices(8, 8, SamplingMode::kTest, rng),
            (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  // Segments of 2.5 frames: centres at 1.25, 3.75, 6.25, 8.75.
  EXPECT_EQ(sample_indices(10, 4, SamplingMode::kTest, rng), (std::vector<int>{1, 3, 6, 8}));
  EXPECT_EQ(sample_indices(1, 3, SamplingMode::kTest, rng), (std::vector<int>{0, 0, 0}));
}

TEST(SampleIndices, TrainingDrawsInsideEachSegmentAndCoversIt) {
  for (const auto& [n, t] : std::vector<std::pair<int, int>>{{80, 8}, {10, 4}, {17, 8}, {9, 8}}) {
    std::mt19937 rng(7);
    std::vector<std::set<int>> seen(static_cast<std::size_t>(t));
    for (int draw = 0; draw < 400; ++draw) {
      const auto idx = sample_indices(n, t, SamplingMode::kTrain, rng);
      ASSERT_EQ(idx.size(), static_cast<std::size_t>(t));
      for (int i = 0; i < t; ++i) {
        const int lo = i * n / t, hi = (i + 1) * n / t;
        EXPECT_GE(idx[i], lo) << "n=" << n << " segment " << i;
        EXPECT_LT(idx[i], hi) << "n=" << n << " segment " << i;
        if (i > 0) {
          EXPECT_GT(idx[i], idx[i - 1]);
        }
        seen[static_cast<std::size_t>(i)].insert(idx[i]);
      }
    }
    // Every frame of every segment gets drawn sometimes: a real random offset, not a constant.
    for (int i = 0; i < t; ++i)
      EXPECT_EQ(static_cast<int>(seen[static_cast<std::size_t>(i)].size()),
                (i + 1) * n / t - i * n / t)
          << "n=" << n << " segment " << i;
  }
}

TEST(SampleIndices, SameGeneratorStateSameDraws) {
  std::mt19937 a(3), b(3), c(4);
  const auto x = sample_indices(100, 8, SamplingMode::kTrain, a);
  EXPECT_EQ(x, sample_indices(100, 8, SamplingMode::kTrain, b));
  EXPECT_NE(x, sample_indices(100, 8, SamplingMode::kTrain, c));
}

TEST(SampleIndices, ShortVideosRepeatFrames) {
  std::mt19937 rng(1);
  for (auto mode : {SamplingMode::kTrain, SamplingMode::kTest}) {
    EXPECT_EQ(sample_indices(3, 8, mode, rng), (std::vector<int>{0, 0, 0, 1, 1, 2, 2, 2}));
    EXPECT_EQ(sample_indices(3, 8, mode, rng, ShortClipPolicy::kRepeatLast),
              (std::vector<int>{0, 1, 2, 2, 2, 2, 2, 2}));
    EXPECT_EQ(sample_indices(1, 4, mode, rng), (std::vector<int>{0, 0, 0, 0}));
  }
}

TEST(SampleIndices, RejectsEmptyInput) {
  std::mt19937 rng(1);
  EXPECT_THROW(sample_indices(0, 8, SamplingMode::kTest, rng), hesp::InputError);
  EXPECT_THROW(sample_indices(10, 0, SamplingMode::kTest, rng), hesp::InputError);
}

TEST(Augment, TestModeIsTheWholeFrame) {
  std::mt19937 rng(1);
  hesp::data::AugmentOptions o;
  o.size = 64;
  const auto p = hesp::data::sample_augment(o, rng);
  EXPECT_FALSE(p.flip);
  EXPECT_EQ(p.x, 0);
  EXPECT_EQ(p.y, 0);
  EXPECT_EQ(p.width, 64);
  EXPECT_EQ(p.height, 64);
}

TEST(Augment, RandomResizedCropStaysInItsRanges) {
  std::mt19937 rng(5);
  hesp::data::AugmentOptions o;
  o.size = 224;
  o.train = true;
  int flips = 0, partial = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    const auto p = hesp::data::sample_augment(o, rng);
    flips += p.flip;
    ASSERT_GE(p.x, 0);
    ASSERT_GE(p.y, 0);
    ASSERT_LE(p.x + p.width, 224);
    ASSERT_LE(p.y + p.height, 224);
    const double area = static_cast<double>(p.width) * p.height / (224.0 * 224.0);
    const double ratio = static_cast<double>(p.width) / p.height;
    EXPECT_GE(area, 0.08 * 0.95);
    EXPECT_LE(area, 1.0);
    EXPECT_GE(ratio, 0.75 * 0.97);
    EXPECT_LE(ratio, 4.0 / 3.0 * 1.03);
    partial += area < 0.5;
  }
  EXPECT_NEAR(flips / double(n), 0.5, 0.05);
  EXPECT_GT(partial, n / 4);  // small crops do happen
}

hesp::data::RgbFrame halves() {
  // Left half red, right half blue, 40 x 20.
  hesp::data::RgbFrame f;
  f.width = 40;
  f.height = 20;
  f.rgb.resize(40 * 20 * 3);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x) {
      std::uint8_t* px = &f.rgb[(y * 40 + x) * 3];
      px[0] = x < 20 ? 255 : 0;
      px[2] = x < 20 ? 0 : 255;
    }
  return f;
}

TEST(Augment, FlipAndCropAreApplied) {
  const auto f = halves();
  std::vector<std::uint8_t> out(16 * 16 * 3);
  hesp::data::AugmentParams p;
  p.width = p.height = 16;
  hesp::data::augment_frame(f, p, 16, out.data());
  EXPECT_EQ(out[0], 255);                      // top-left red
  EXPECT_EQ(out[(16 * 16 - 1) * 3 + 2], 255);  // bottom-right blue
  p.flip = true;
  hesp::data::augment_frame(f, p, 16, out.data());
  EXPECT_EQ(out[2], 255);  // flipped: top-left blue
  EXPECT_EQ(out[(16 * 16 - 1) * 3], 255);
  // Crop the right half of the resized frame: all blue; flipped, that box is the red half.
  p.flip = false;
  p.x = 8;
  p.width = 8;
  hesp::data::augment_frame(f, p, 16, out.data());
  for (int i = 0; i < 16 * 16; ++i) ASSERT_EQ(out[i * 3 + 2], 255);
  p.flip = true;
  hesp::data::augment_frame(f, p, 16, out.data());
  for (int i = 0; i < 16 * 16; ++i) ASSERT_EQ(out[i * 3], 255);
  p.x = 10;  // 10 + 8 > 16
  EXPECT_THROW(hesp::data::augment_frame(f, p, 16, out.data()), hesp::InputError);
}

class LoadClip : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.empty());
    // 20 frames; frame i has grey level 10 * i in its top-left quarter, a fixed pattern elsewhere
    // (a diagonal gradient), so that both the frame index and the spatial transform show.
    for (int i = 0; i < 20; ++i) {
      cv::Mat m(48, 64, CV_8UC3);
      for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x) {
          const int g = (x < 32 && y < 24) ? 10 * i : (x * 3 + y * 2);
          m.at<cv::Vec3b>(y, x) = cv::Vec3b(g, g, g);
        }
      char name[32];
      std::snprintf(name, sizeof(name), "img_%05d.jpg", i + 1);
      ASSERT_TRUE(
          cv::imwrite((fs::path(dir_) / name).string(), m, {cv::IMWRITE_JPEG_QUALITY, 100}));
    }
    item_.path = dir_;
    item_.rel_path = "frames";
    item_.source = "list.txt";
    item_.line = 4;
    item_.num_frames = 20;
    item_.label = 2;
  }
  hesp::test::TempDir tmp_;
  std::string dir_ = tmp_.path();
  hesp::data::AnnotationItem item_;
};

TEST_F(LoadClip, TestModeLoadsSegmentCentresResizedOnly) {
  hesp::data::ClipLoaderOptions o;
  o.num_segments = 4;
  o.augment.size = 32;
  const auto clip = hesp::data::load_clip(item_, o);
  EXPECT_EQ(clip.n_frames, 4);
  EXPECT_EQ(clip.size, 32);
  EXPECT_EQ(clip.label, 2);
  EXPECT_EQ(clip.frame_indices, (std::vector<int>{2, 7, 12, 17}));
  ASSERT_EQ(clip.frames.size(), 4u * 32 * 32 * 3);
  for (int k = 0; k < 4; ++k) {
    // Top-left pixel: the frame's grey level (JPEG and area resampling keep it within a few).
    EXPECT_NEAR(clip.frames[static_cast<std::size_t>(k) * 32 * 32 * 3], 10 * clip.frame_indices[k],
                4);
  }
  EXPECT_EQ(clip.frames, hesp::data::load_clip(item_, o, 3, 9).frames) << "test mode is not random";
}

TEST_F(LoadClip, TrainingAugmentsEveryFrameOfAClipAlike) {
  hesp::data::ClipLoaderOptions o;
  o.num_segments = 4;
  o.mode = SamplingMode::kTrain;
  o.augment.size = 32;
  o.seed = 11;
  std::set<std::vector<int>> index_sets;
  std::set<std::tuple<bool, int, int, int, int>> boxes;
  int total_compared = 0;
  for (std::uint64_t epoch = 0; epoch < 12; ++epoch) {
    const auto clip = hesp::data::load_clip(item_, o, epoch, 5);
    index_sets.insert(clip.frame_indices);
    boxes.insert({clip.augment.flip, clip.augment.x, clip.augment.y, clip.augment.width,
                  clip.augment.height});
    // Outside the top-left quarter all source frames are identical, so with one augmentation
    // per clip every output pixel that comes from there agrees across the clip's frames.
    const auto& p = clip.augment;
    const std::size_t frame = 32 * 32 * 3;
    int compared = 0;
    for (int v = 0; v < 32; ++v)
      for (int u = 0; u < 32; ++u) {
        float xr = p.x + (u + 0.5f) * p.width / 32.f, yr = p.y + (v + 0.5f) * p.height / 32.f;
        if (p.flip) xr = 32.f - xr;
        const float sx = xr * 64.f / 32.f, sy = yr * 48.f / 32.f;  // source pixels
        if (sx < 32.f + 4.f && sy < 24.f + 4.f) continue;
        ++compared;
        for (int k = 1; k < 4; ++k)
          for (int c = 0; c < 3; ++c) {
            const std::size_t i = (static_cast<std::size_t>(v) * 32 + u) * 3 + c;
            ASSERT_NEAR(clip.frames[k * frame + i], clip.frames[i], 4) << "epoch " << epoch;
          }
      }
    total_compared += compared;
  }
  EXPECT_GT(total_compared, 2000);
  EXPECT_GT(index_sets.size(), 6u);
  EXPECT_GT(boxes.size(), 6u);
  // Reproducible from (seed, epoch, index).
  const auto a = hesp::data::load_clip(item_, o, 4, 5);
  const auto b = hesp::data::load_clip(item_, o, 4, 5);
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_EQ(a.frame_indices, b.frame_indices);
}

TEST_F(LoadClip, ContainerThatOverstatesItsLengthStillLoads) {
  item_.available_frames = 200;  // claims more frames than the folder holds
  hesp::data::ClipLoaderOptions o;
  o.num_segments = 4;
  o.augment.size = 16;
  const auto clip = hesp::data::load_clip(item_, o);
  EXPECT_EQ(clip.frame_indices, (std::vector<int>{2, 7, 12, 17}));
}

TEST_F(LoadClip, ErrorsNameTheAnnotationLine) {
  item_.path = dir_ + "/missing";
  hesp::data::ClipLoaderOptions o;
  try {
    hesp::data::load_clip(item_, o);
    ADD_FAILURE();
  } catch (const hesp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("list.txt:4:"), std::string::npos) << e.what();
  }
}

}  // namespace

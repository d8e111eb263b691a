// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <vector>

#include "hesp/error.h"
#include "hesp/pan_zoom.h"
#include "hesp/shot_cut_detector.h"
#include "image_views.h"
#include "test_data.h"

namespace {

// A colourful scene, larger than the frame: coloured discs on a gradient; `seed` picks the colours.
cv::Mat scene(int seed) {
  cv::Mat m(480, 960, CV_8UC3);
  cv::RNG rng(seed);
  const cv::Scalar top(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
  const cv::Scalar bottom(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
  for (int y = 0; y < m.rows; ++y) {
    const double t = static_cast<double>(y) / m.rows;
    m.row(y).setTo(top * (1 - t) + bottom * t);
  }
  for (int i = 0; i < 40; ++i) {
    cv::circle(m, {rng.uniform(0, m.cols), rng.uniform(0, m.rows)}, rng.uniform(10, 60),
               cv::Scalar(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256)),
               cv::FILLED);
  }
  return m;
}

// The camera's view of the scene: a window at (x, y) of the given width, resized to 320x180.
cv::Mat view(const cv::Mat& scene, int x, int y, int width) {
  cv::Mat out;
  cv::resize(scene(cv::Rect(x, y, width, width * 9 / 16)), out, cv::Size(320, 180), 0, 0,
             cv::INTER_AREA);
  return out;
}

double distance(const cv::Mat& a, const cv::Mat& b) {
  using hesp::ShotCutDetector;
  return ShotCutDetector::distance(
      ShotCutDetector::signature(hesp::test::packed_view(a, hesp::PixelFormat::kBGR)),
      ShotCutDetector::signature(hesp::test::packed_view(b, hesp::PixelFormat::kBGR)));
}

const double kThreshold = hesp::ShotCutOptions{}.threshold;

TEST(ShotCutDetector, IdenticalFramesAreNoCut) {
  const cv::Mat a = view(scene(1), 100, 50, 640);
  EXPECT_DOUBLE_EQ(distance(a, a), 0.0);
}

TEST(ShotCutDetector, PansAndZoomsStayBelowTheThreshold) {
  const cv::Mat s = scene(1);
  const cv::Mat start = view(s, 100, 50, 640);
  // A shift of a few pixels, a fast pan (40 px a frame) and a zoom step.
  EXPECT_LT(distance(start, view(s, 104, 52, 640)), kThreshold / 4);
  EXPECT_LT(distance(start, view(s, 140, 50, 640)), kThreshold / 2);
  EXPECT_LT(distance(start, view(s, 130, 70, 580)), kThreshold / 2);
}

TEST(ShotCutDetector, DifferentScenesAreCuts) {
  const cv::Mat a = view(scene(1), 100, 50, 640);
  for (int seed = 2; seed < 8; ++seed)
    EXPECT_GT(distance(a, view(scene(seed), 100, 50, 640)), kThreshold) << "seed " << seed;
}

TEST(ShotCutDetector, ReportsTheCutFrameOnly) {
  const cv::Mat a = scene(1), b = scene(2);
  hesp::ShotCutDetector cuts;
  std::vector<int> cut_frames;
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 10; ++i) frames.push_back(view(a, 100 + 8 * i, 50, 640));
  for (int i = 0; i < 10; ++i) frames.push_back(view(b, 200 - 8 * i, 60, 600));
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto r = cuts.next(hesp::test::packed_view(frames[i], hesp::PixelFormat::kBGR));
    if (r.cut) cut_frames.push_back(static_cast<int>(i));
    if (i == 0) {
      EXPECT_EQ(r.distance, 0.0);
    }
  }
  EXPECT_EQ(cut_frames, std::vector<int>{10});
  // After reset the next frame has nothing to compare with.
  cuts.reset();
  EXPECT_FALSE(cuts.next(hesp::test::packed_view(frames[0], hesp::PixelFormat::kBGR)).cut);
}

TEST(ShotCutDetector, ZeroThresholdNeverFires) {
  hesp::ShotCutDetector cuts(hesp::ShotCutOptions{0.0});
  const cv::Mat a = view(scene(1), 0, 0, 640), b = view(scene(2), 0, 0, 640);
  cuts.next(hesp::test::packed_view(a, hesp::PixelFormat::kBGR));
  const auto r = cuts.next(hesp::test::packed_view(b, hesp::PixelFormat::kBGR));
  EXPECT_FALSE(r.cut);
  EXPECT_GT(r.distance, 0.3);
  EXPECT_THROW(hesp::ShotCutDetector(hesp::ShotCutOptions{1.5}), hesp::SettingsError);
}

TEST(ShotCutDetector, RealPhotosPannedAndCut) {
  // The demo video's material: camera moves across two group photos of similar colours.
  const std::string p3 = hesp::test::demo_photo(3), p4 = hesp::test::demo_photo(4);
  HESP_REQUIRE_FILE(p3);
  HESP_REQUIRE_FILE(p4);
  const int n = 30;
  hesp::PanZoomSequence first(p3, 320, 180, n, {0.45f, 0.3f, 0.95f, 0.55f, 0.3f, 0.7f});
  hesp::PanZoomSequence second(p4, 320, 180, n);
  hesp::ShotCutDetector cuts;
  std::vector<int> cut_frames;
  double inside_max = 0.0;
  std::vector<std::uint8_t> rgb(320 * 180 * 3);
  for (int i = 0; i < 2 * n; ++i) {
    (i < n ? first : second).render(i % n, rgb.data());
    const cv::Mat m(180, 320, CV_8UC3, rgb.data());
    const auto r = cuts.next(hesp::test::packed_view(m, hesp::PixelFormat::kRGB));
    if (r.cut) cut_frames.push_back(i);
    if (i != n) inside_max = std::max(inside_max, r.distance);
  }
  EXPECT_EQ(cut_frames, std::vector<int>{n});
  EXPECT_LT(inside_max, kThreshold / 2);
}

}  // namespace

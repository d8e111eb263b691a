// SPDX-License-Identifier: LGPL-2.1-or-later
// The LibTorch ports of face-api.js's 68-point landmark networks: agreement with face-api in
// TensorFlow.js (tests/reference/faceapi_landmarks_reference.js) on real face crops, landmarks on
// the london-dev portraits, the geometry helpers and the errors for wrong weight files.
#include "face/faceapi_landmarks.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "face_nets_support.h"
#include "hesp/error.h"
#include "hesp/face_landmarks.h"
#include "image_views.h"

namespace hesp {
namespace {

using test::faceapi_model_folder;
using test::packed_view;

std::string manifest(LandmarkNet net) {
  return faceapi_model_folder() + "/" +
         (net == LandmarkNet::kFull ? kFaceApiLandmarksManifestName
                                    : kFaceApiLandmarksTinyManifestName);
}

#define REQUIRE_LANDMARK_MODELS()                               \
  do {                                                          \
    HESP_REQUIRE_FILE(manifest(LandmarkNet::kFull));            \
    HESP_REQUIRE_FILE(manifest(LandmarkNet::kTiny));            \
    HESP_REQUIRE_FILE(test::london_dev() + "/001_neutral.jpg"); \
  } while (0)

bool inside(const Box& box, const Point& p) {
  return p.x >= box.x && p.x < box.x + box.width && p.y >= box.y && p.y < box.y + box.height;
}

class LandmarkParityTest : public ::testing::TestWithParam<LandmarkNet> {};

TEST_P(LandmarkParityTest, MatchesFaceApiInTensorFlowJs) {
  REQUIRE_LANDMARK_MODELS();
  const std::string why = test::reference_unavailable();
  if (!why.empty()) GTEST_SKIP() << why;
  const LandmarkNet kind = GetParam();
  const auto crops = test::parity_crops(test::london_portraits(6));
  const nlohmann::json reference = test::run_reference(
      "faceapi_landmarks_reference.js",
      "--runtime " + test::shell_quote(test::tfjs_runtime_dir()) + " --model " +
          test::shell_quote(faceapi_model_folder()) + (kind == LandmarkNet::kTiny ? " --tiny" : ""),
      crops);
  ASSERT_TRUE(reference.is_object());
  ASSERT_EQ(reference["backend"], "cpu");
  ASSERT_EQ(reference["results"].size(), crops.size());

  FaceApiLandmarkNet net(manifest(kind), kind);
  double worst_raw = 0.0, worst_point = 0.0;
  for (std::size_t i = 0; i < crops.size(); ++i) {
    SCOPED_TRACE("crop " + std::to_string(i) + " (" + std::to_string(crops[i].cols) + "x" +
                 std::to_string(crops[i].rows) + ")");
    const auto& ref = reference["results"][i];
    const std::vector<float> raw = net.raw_output(crops[i]);
    ASSERT_EQ(ref["raw"].size(), raw.size());
    for (std::size_t k = 0; k < raw.size(); ++k) {
      const double d = std::abs(raw[k] - ref["raw"][k].get<double>());
      worst_raw = std::max(worst_raw, d);
      EXPECT_LT(d, 1e-4) << "output " << k;
    }
    const FaceLandmarks points = net.locate_in_crop(crops[i]);
    for (int k = 0; k < 68; ++k) {
      const double dx = points[k].x - ref["points"][k][0].get<double>();
      const double dy = points[k].y - ref["points"][k][1].get<double>();
      worst_point = std::max({worst_point, std::abs(dx), std::abs(dy)});
      EXPECT_LT(std::hypot(dx, dy), 0.05) << "point " << k;
    }
  }
  std::printf("%s: %zu crops, largest difference %.2e in raw output, %.2e px in points\n",
              kind == LandmarkNet::kFull ? "full" : "tiny", crops.size(), worst_raw, worst_point);
}

INSTANTIATE_TEST_SUITE_P(FaceApi, LandmarkParityTest,
                         ::testing::Values(LandmarkNet::kFull, LandmarkNet::kTiny),
                         [](const auto& info) {
                           return info.param == LandmarkNet::kFull ? "full" : "tiny";
                         });

// On every portrait the eyes lie inside the labelled face box, level within 15 degrees (the
// portraits are upright), the image-left eye on the left, and the landmark box overlaps the face
// box. The tiny net agrees with the full one to a fraction of the eye distance; the printed
// numbers and times are what docs/face-landmarks.md reports.
TEST(FaceLandmarker, EyesInsideTheFaceOnEveryPortrait) {
  REQUIRE_LANDMARK_MODELS();
  const auto portraits = test::london_portraits();
  ASSERT_EQ(portraits.size(), 80u);
  auto full = FaceLandmarker::load(faceapi_model_folder(), LandmarkNet::kFull);
  auto tiny = FaceLandmarker::load(faceapi_model_folder(), LandmarkNet::kTiny);
  double full_seconds = 0.0, tiny_seconds = 0.0, disagreement = 0.0, worst = 0.0;
  for (const auto& p : portraits) {
    SCOPED_TRACE(p.file);
    const ImageView view = packed_view(p.bgr, PixelFormat::kBGR);
    auto t0 = std::chrono::steady_clock::now();
    const FaceLandmarks points = full->locate(view, p.face);
    auto t1 = std::chrono::steady_clock::now();
    const FaceLandmarks small = tiny->locate(view, p.face);
    auto t2 = std::chrono::steady_clock::now();
    full_seconds += std::chrono::duration<double>(t1 - t0).count();
    tiny_seconds += std::chrono::duration<double>(t2 - t1).count();
    const Point left = left_eye_centre(points), right = right_eye_centre(points);
    EXPECT_TRUE(inside(p.face, left)) << left.x << "," << left.y;
    EXPECT_TRUE(inside(p.face, right)) << right.x << "," << right.y;
    EXPECT_LT(left.x, right.x);
    const double eyes = std::hypot(right.x - left.x, right.y - left.y);
    EXPECT_LT(std::abs(std::atan2(right.y - left.y, right.x - left.x)), 15 * M_PI / 180);
    EXPECT_GT(iou(landmark_box(points), p.face), 0.4f);
    double mean = 0.0;
    for (int k = 0; k < 68; ++k)
      mean += std::hypot(points[k].x - small[k].x, points[k].y - small[k].y) / 68;
    disagreement += mean / eyes / portraits.size();
    worst = std::max(worst, mean / eyes);
  }
  EXPECT_LT(disagreement, 0.1);
  std::printf(
      "80 portraits: tiny vs full net, mean point distance %.3f (worst %.3f) of the eye "
      "distance; %.1f ms per face full, %.1f ms tiny\n",
      disagreement, worst, 1000 * full_seconds / portraits.size(),
      1000 * tiny_seconds / portraits.size());
}

TEST(FaceLandmarker, PointsMoveWithTheFace) {
  REQUIRE_LANDMARK_MODELS();
  const auto p = test::london_portraits(1).at(0);
  auto net = FaceLandmarker::load();
  const FaceLandmarks here = net->locate(packed_view(p.bgr, PixelFormat::kBGR), p.face);
  cv::Mat moved(p.bgr.rows + 40, p.bgr.cols + 30, CV_8UC3, cv::Scalar(0, 0, 0));
  p.bgr.copyTo(moved(cv::Rect(30, 40, p.bgr.cols, p.bgr.rows)));
  Box box = p.face;
  box.x += 30;
  box.y += 40;
  const FaceLandmarks there = net->locate(packed_view(moved, PixelFormat::kBGR), box);
  for (int k = 0; k < 68; ++k) {
    EXPECT_NEAR(there[k].x, here[k].x + 30, 1e-3) << k;
    EXPECT_NEAR(there[k].y, here[k].y + 40, 1e-3) << k;
  }
  // The same frame as I420 (what the elements see) finds the same points to within a pixel.
  cv::Mat i420;
  cv::cvtColor(p.bgr, i420, cv::COLOR_BGR2YUV_I420);
  ImageView yuv;
  yuv.format = PixelFormat::kI420;
  yuv.width = p.bgr.cols;
  yuv.height = p.bgr.rows;
  yuv.planes[0] = i420.data;
  yuv.planes[1] = i420.data + yuv.width * yuv.height;
  yuv.planes[2] = yuv.planes[1] + yuv.width * yuv.height / 4;
  yuv.strides[0] = yuv.width;
  yuv.strides[1] = yuv.strides[2] = yuv.width / 2;
  const FaceLandmarks from_yuv = net->locate(yuv, p.face);
  for (int k = 0; k < 68; ++k)
    EXPECT_LT(std::hypot(from_yuv[k].x - here[k].x, from_yuv[k].y - here[k].y), 1.0) << k;
}

TEST(FaceLandmarker, LandmarkBoxIsFaceApisAlignedRect) {
  FaceLandmarks points{};
  for (int k = 0; k < 68; ++k) points[k] = {10.f + k % 11, 20.f + k % 21};
  const Box box = landmark_box(points);
  EXPECT_FLOAT_EQ(box.x, 10.f - 1.f);
  EXPECT_FLOAT_EQ(box.y, 20.f - 2.f);
  EXPECT_FLOAT_EQ(box.width, 12.f);
  EXPECT_FLOAT_EQ(box.height, 24.f);
  EXPECT_FLOAT_EQ(left_eye_centre(points).x, 15.5f);  // points 36-41: x = 13..18
}

TEST(FaceLandmarker, Errors) {
  REQUIRE_LANDMARK_MODELS();
  const std::string missing = "/nonexistent/landmarks.json";
  try {
    FaceLandmarker::load(missing);
    ADD_FAILURE() << "no exception";
  } catch (const FileNotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  // The full net's manifest holds every weight of the tiny net, and more.
  EXPECT_THROW(FaceLandmarker::load(manifest(LandmarkNet::kFull), LandmarkNet::kTiny),
               CorruptFileError);
  EXPECT_THROW(
      FaceLandmarker::load(faceapi_model_folder() + "/face_expression_model-weights_manifest.json"),
      CorruptFileError);
  auto net = FaceLandmarker::load();
  const cv::Mat frame(100, 100, CV_8UC3, cv::Scalar(50, 60, 70));
  EXPECT_THROW(net->locate(packed_view(frame, PixelFormat::kBGR), Box{200, 10, 50, 50}),
               InputError);
  EXPECT_NO_THROW(net->locate(packed_view(frame, PixelFormat::kBGR), Box{-20, -20, 50, 50}));
}

}  // namespace
}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// The LibTorch port of face-api.js's face recognition network: agreement with face-api in
// TensorFlow.js (tests/reference/faceapi_descriptor_reference.js) on real face crops, and that its
// descriptors tell the london-dev people apart.
#include "face/faceapi_descriptor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "face_nets_support.h"
#include "hesp/error.h"
#include "hesp/face_descriptor.h"
#include "hesp/face_landmarks.h"
#include "image_views.h"

namespace hesp {
namespace {

using test::faceapi_model_folder;
using test::packed_view;

std::string manifest() { return faceapi_model_folder() + "/" + kFaceApiDescriptorManifestName; }

#define REQUIRE_DESCRIPTOR_MODEL()                              \
  do {                                                          \
    HESP_REQUIRE_FILE(manifest());                              \
    HESP_REQUIRE_FILE(test::london_dev() + "/001_neutral.jpg"); \
  } while (0)

TEST(FaceDescriber, MatchesFaceApiInTensorFlowJs) {
  REQUIRE_DESCRIPTOR_MODEL();
  const std::string why = test::reference_unavailable();
  if (!why.empty()) GTEST_SKIP() << why;
  const auto crops = test::parity_crops(test::london_portraits(6));
  const nlohmann::json reference =
      test::run_reference("faceapi_descriptor_reference.js",
                          "--runtime " + test::shell_quote(test::tfjs_runtime_dir()) + " --model " +
                              test::shell_quote(faceapi_model_folder()),
                          crops);
  ASSERT_TRUE(reference.is_object());
  ASSERT_EQ(reference["backend"], "cpu");
  ASSERT_EQ(reference["results"].size(), crops.size());
  FaceApiDescriptorNet net(manifest());
  double worst = 0.0;
  for (std::size_t i = 0; i < crops.size(); ++i) {
    SCOPED_TRACE("crop " + std::to_string(i) + " (" + std::to_string(crops[i].cols) + "x" +
                 std::to_string(crops[i].rows) + ")");
    const auto& ref = reference["results"][i]["descriptor"];
    const std::vector<float> ours = net.describe_crop(crops[i]);
    ASSERT_EQ(ref.size(), ours.size());
    for (std::size_t k = 0; k < ours.size(); ++k) {
      const double d = std::abs(ours[k] - ref[k].get<double>());
      worst = std::max(worst, d);
      EXPECT_LT(d, 1e-4) << "component " << k;
    }
  }
  std::printf("%zu crops: largest difference %.2e in a descriptor component\n", crops.size(),
              worst);
}

// Each person's neutral and smiling portraits are closer than portraits of different people, on
// average and for most people; face-api's 0.6 threshold separates them for most pairs. Faces are
// cut at the landmark box, as face-api's withFaceDescriptors() does.
TEST(FaceDescriber, SamePersonIsCloserThanOthers) {
  REQUIRE_DESCRIPTOR_MODEL();
  HESP_REQUIRE_FILE(default_faceapi_landmarks_manifest_path());
  const auto portraits = test::london_portraits();
  ASSERT_EQ(portraits.size(), 80u);
  auto landmarker = FaceLandmarker::load();
  auto describer = FaceDescriber::load(faceapi_model_folder());
  std::vector<std::vector<float>> neutral, smiling;
  double seconds = 0.0;
  for (const auto& p : portraits) {
    const ImageView view = packed_view(p.bgr, PixelFormat::kBGR);
    const Box box = landmark_box(landmarker->locate(view, p.face));
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<float> d = describer->describe(view, box);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(d.size(), static_cast<std::size_t>(kFaceDescriptorSize));
    (p.file.find("neutral") != std::string::npos ? neutral : smiling).push_back(std::move(d));
  }
  ASSERT_EQ(neutral.size(), smiling.size());
  const std::size_t people = neutral.size();
  double same = 0.0, other = 0.0;
  int same_matched = 0, other_matched = 0, nearest_right = 0;
  for (std::size_t i = 0; i < people; ++i) {
    const float d = face_distance(neutral[i], smiling[i]);
    same += d / people;
    same_matched += d < kFaceDescriptorMatchDistance;
    std::size_t nearest = 0;
    for (std::size_t j = 0; j < people; ++j) {
      const float dj = face_distance(neutral[i], smiling[j]);
      if (dj < face_distance(neutral[i], smiling[nearest])) nearest = j;
      if (j == i) continue;
      other += dj / (people * (people - 1));
      other_matched += dj < kFaceDescriptorMatchDistance;
    }
    nearest_right += nearest == i;
  }
  EXPECT_LT(same, other);
  EXPECT_GT(nearest_right, static_cast<int>(people * 3 / 4));
  std::printf(
      "%zu people: mean distance %.3f same person, %.3f different; below 0.6: %d/%zu same, "
      "%d/%zu different; nearest smiling face is the same person for %d; %.1f ms per face\n",
      people, same, other, same_matched, people, other_matched, people * (people - 1),
      nearest_right, 1000 * seconds / portraits.size());
}

TEST(FaceDescriber, Errors) {
  REQUIRE_DESCRIPTOR_MODEL();
  EXPECT_THROW(face_distance({1.f, 2.f}, {1.f}), InputError);
  EXPECT_FLOAT_EQ(face_distance({0.f, 3.f}, {4.f, 0.f}), 5.f);
  EXPECT_THROW(FaceDescriber::load("/nonexistent/folder"), FileNotFoundError);
  EXPECT_THROW(
      FaceDescriber::load(faceapi_model_folder() + "/face_landmark_68_model-weights_manifest.json"),
      CorruptFileError);
  auto net = FaceDescriber::load();
  const cv::Mat frame(60, 80, CV_8UC3, cv::Scalar(50, 60, 70));
  EXPECT_THROW(net->describe(packed_view(frame, PixelFormat::kBGR), Box{0, 70, 10, 10}),
               InputError);
  EXPECT_EQ(net->describe(packed_view(frame, PixelFormat::kBGR), Box{5, 5, 30, 40}).size(), 128u);
}

}  // namespace
}  // namespace hesp

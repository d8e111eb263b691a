// SPDX-License-Identifier: LGPL-2.1-or-later
// Landmark-aligned face crops: eyes level and in place in `eyes` crops even for tilted heads,
// face-api's landmark box in `landmarks` crops, and the names the manifest and element use.
#include "hesp/face_alignment.h"

#include <gtest/gtest.h>

#include <cmath>

#include "face_nets_support.h"
#include "hesp/error.h"
#include "hesp/face_clips.h"
#include "image_views.h"

namespace hesp {
namespace {

using test::packed_view;

constexpr int kSize = 112;

// The landmarks the full net finds on an RGB crop.
FaceLandmarks landmarks_of(FaceLandmarker& net, const std::vector<std::uint8_t>& rgb) {
  const cv::Mat crop(kSize, kSize, CV_8UC3, const_cast<std::uint8_t*>(rgb.data()));
  return net.locate(packed_view(crop, PixelFormat::kRGB), Box{0, 0, kSize, kSize});
}

TEST(FaceAlignment, Names) {
  for (FaceAlignment a : {FaceAlignment::kNone, FaceAlignment::kLandmarks, FaceAlignment::kEyes})
    EXPECT_EQ(parse_face_alignment(face_alignment_name(a)), a);
  try {
    parse_face_alignment("nose");
    ADD_FAILURE() << "no exception";
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("'nose'"), std::string::npos) << e.what();
  }
}

// Portraits turned by +-20 degrees: in the eye-aligned crop the eyes come out level, the right
// distance apart, at the eye line; in the unaligned crop they stay tilted.
TEST(FaceAlignment, EyesAreLevelAndInPlaceForTiltedHeads) {
  HESP_REQUIRE_FILE(default_faceapi_landmarks_manifest_path());
  HESP_REQUIRE_FILE(test::london_dev() + "/001_neutral.jpg");
  auto net = FaceLandmarker::load();
  FaceAligner eyes(FaceAlignment::kEyes), none(FaceAlignment::kNone);
  std::vector<std::uint8_t> crop(kSize * kSize * 3);
  for (const auto& p : test::london_portraits(4)) {
    for (double degrees : {-20.0, 0.0, 20.0}) {
      SCOPED_TRACE(p.file + " turned by " + std::to_string(degrees));
      const cv::Point2f centre(p.face.center_x(), p.face.center_y());
      cv::Mat turned;
      cv::warpAffine(p.bgr, turned, cv::getRotationMatrix2D(centre, degrees, 1.0), p.bgr.size());
      const ImageView view = packed_view(turned, PixelFormat::kBGR);

      eyes.crop_into(view, p.face, kSize, 0.1f, crop.data());
      const FaceLandmarks aligned = landmarks_of(*net, crop);
      const Point l = left_eye_centre(aligned), r = right_eye_centre(aligned);
      EXPECT_LT(std::abs(std::atan2(r.y - l.y, r.x - l.x)) * 180 / M_PI, 3.0);
      EXPECT_NEAR(std::hypot(r.x - l.x, r.y - l.y), kEyeDistance * kSize,
                  0.1 * kEyeDistance * kSize);
      EXPECT_NEAR((l.x + r.x) / 2, 0.5 * kSize, 3.0);
      EXPECT_NEAR((l.y + r.y) / 2, kEyeLineY * kSize, 3.0);

      none.crop_into(view, p.face, kSize, 0.1f, crop.data());
      const FaceLandmarks plain = landmarks_of(*net, crop);
      const Point pl = left_eye_centre(plain), pr = right_eye_centre(plain);
      if (degrees != 0.0)
        EXPECT_GT(std::abs(std::atan2(pr.y - pl.y, pr.x - pl.x)) * 180 / M_PI, 12.0);
    }
  }
}

// The landmark crop is face-api's alignedRect padded to a square: the landmarks found in it span
// about 1 / 1.2 of the longer side, centred.
TEST(FaceAlignment, LandmarkCropIsTheLandmarkBox) {
  HESP_REQUIRE_FILE(default_faceapi_landmarks_manifest_path());
  HESP_REQUIRE_FILE(test::london_dev() + "/001_neutral.jpg");
  auto net = FaceLandmarker::load();
  FaceAligner aligner(FaceAlignment::kLandmarks);
  std::vector<std::uint8_t> crop(kSize * kSize * 3);
  for (const auto& p : test::london_portraits(4)) {
    SCOPED_TRACE(p.file);
    aligner.crop_into(packed_view(p.bgr, PixelFormat::kBGR), p.face, kSize, 0.1f, crop.data());
    const Box box = landmark_box(landmarks_of(*net, crop), 0.f);
    EXPECT_NEAR(std::max(box.width, box.height), kSize / 1.2, 0.08 * kSize);
    EXPECT_NEAR(box.center_x(), kSize / 2.0, 0.05 * kSize);
    EXPECT_NEAR(box.center_y(), kSize / 2.0, 0.05 * kSize);
  }
}

// A tracked face's landmarks are found on the first call and every refresh_interval-th; the calls
// between reuse them on the current box: identical crops while the box stands still, and a crop
// shifted with the box (no net run) when the box moves, until the next refresh.
TEST(FaceAlignment, TrackedLandmarksFollowTheBoxBetweenRefreshes) {
  HESP_REQUIRE_FILE(default_faceapi_landmarks_manifest_path(LandmarkNet::kTiny));
  HESP_REQUIRE_FILE(test::london_dev() + "/001_neutral.jpg");
  const auto portraits = test::london_portraits(2);
  const auto& p = portraits.at(0);
  const auto& other = portraits.at(1);
  const ImageView view = packed_view(p.bgr, PixelFormat::kBGR);
  const ImageView other_view = packed_view(other.bgr, PixelFormat::kBGR);
  FaceAligner aligner(FaceAlignment::kLandmarks, "", LandmarkNet::kTiny);
  std::vector<std::uint8_t> direct(kSize * kSize * 3), tracked(kSize * kSize * 3);
  aligner.crop_into(view, p.face, kSize, 0.1f, direct.data());

  TrackedLandmarks memory;
  aligner.crop_tracked_into(view, p.face, kSize, 0.1f, 3, memory, tracked.data());
  EXPECT_EQ(memory.frames_since_refresh, 0);
  EXPECT_EQ(tracked, direct) << "first call runs the net";
  aligner.crop_tracked_into(view, p.face, kSize, 0.1f, 3, memory, tracked.data());
  EXPECT_EQ(memory.frames_since_refresh, 1);
  EXPECT_EQ(tracked, direct) << "same box, remembered landmarks";

  // The remembered landmarks are used on another picture (no net run): the crop is the one the
  // first portrait's landmark box cuts out of it, not the second portrait's own landmark crop.
  std::vector<std::uint8_t> other_own(kSize * kSize * 3), other_carried(kSize * kSize * 3);
  aligner.crop_into(other_view, p.face, kSize, 0.1f, other_own.data());
  aligner.crop_tracked_into(other_view, p.face, kSize, 0.1f, 3, memory, other_carried.data());
  EXPECT_EQ(memory.frames_since_refresh, 2);
  auto first_landmarks = FaceLandmarker::load("", LandmarkNet::kTiny)->locate(view, p.face);
  std::vector<std::uint8_t> expected(kSize * kSize * 3);
  crop_landmark_box_into(other_view, first_landmarks, kSize, expected.data());
  EXPECT_EQ(other_carried, expected);
  EXPECT_NE(other_carried, other_own);

  // Third call after the refresh: the net runs again, on the picture it now gets.
  aligner.crop_tracked_into(other_view, p.face, kSize, 0.1f, 3, memory, other_carried.data());
  EXPECT_EQ(memory.frames_since_refresh, 0);
  EXPECT_EQ(other_carried, other_own);

  // A moved box moves the carried landmarks with it (up to float rounding of the box-relative
  // points, hence a mean difference rather than equality).
  auto mean_difference = [](const std::vector<std::uint8_t>& a,
                            const std::vector<std::uint8_t>& b) {
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(int(a[i]) - int(b[i]));
    return sum / a.size();
  };
  FaceLandmarks shifted = FaceLandmarker::load("", LandmarkNet::kTiny)->locate(other_view, p.face);
  std::vector<std::uint8_t> unshifted(kSize * kSize * 3);
  crop_landmark_box_into(view, shifted, kSize, unshifted.data());
  for (auto& q : shifted) q.x += 40.f;
  crop_landmark_box_into(view, shifted, kSize, expected.data());
  Box moved = p.face;
  moved.x += 40.f;
  aligner.crop_tracked_into(view, moved, kSize, 0.1f, 5, memory, tracked.data());
  EXPECT_EQ(memory.frames_since_refresh, 1);
  EXPECT_LT(mean_difference(tracked, expected), 1.0);
  EXPECT_GT(mean_difference(tracked, unshifted), 5.0);

  EXPECT_THROW(aligner.crop_tracked_into(view, p.face, kSize, 0.1f, 0, memory, tracked.data()),
               SettingsError);
}

TEST(FaceAlignment, FaceOutsideTheFrameGivesBlack) {
  FaceLandmarks points{};
  for (int k = 0; k < 68; ++k) points[k] = {500.f + k, 500.f + (k % 7)};
  const cv::Mat frame(100, 100, CV_8UC3, cv::Scalar(200, 200, 200));
  std::vector<std::uint8_t> crop(kSize * kSize * 3, 7);
  crop_eye_aligned_into(packed_view(frame, PixelFormat::kBGR), points, kSize, crop.data());
  EXPECT_EQ(*std::max_element(crop.begin(), crop.end()), 0);
  std::fill(crop.begin(), crop.end(), 7);
  crop_landmark_box_into(packed_view(frame, PixelFormat::kBGR), points, kSize, crop.data());
  EXPECT_EQ(*std::max_element(crop.begin(), crop.end()), 0);
}

}  // namespace
}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/face_alignment.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>

#include "face/faceapi_input.h"
#include "hesp/error.h"
#include "hesp/face_clips.h"

namespace hesp {

namespace {

void check_size(int size) {
  if (size <= 0) throw InputError("crop size must be positive");
}

// Resizes the picture into the size x size buffer (area averaging when shrinking).
void resize_into(const cv::Mat& picture, int size, std::uint8_t* out_rgb) {
  cv::Mat out(size, size, CV_8UC3, out_rgb);
  cv::resize(picture, out, out.size(), 0, 0,
             picture.cols > size ? cv::INTER_AREA : cv::INTER_LINEAR);
}

}  // namespace

const char* face_alignment_name(FaceAlignment alignment) {
  switch (alignment) {
    case FaceAlignment::kNone:
      return "none";
    case FaceAlignment::kLandmarks:
      return "landmarks";
    case FaceAlignment::kEyes:
      return "eyes";
  }
  return "none";
}

FaceAlignment parse_face_alignment(const std::string& name) {
  for (FaceAlignment a : {FaceAlignment::kNone, FaceAlignment::kLandmarks, FaceAlignment::kEyes})
    if (name == face_alignment_name(a)) return a;
  throw SettingsError("unknown face alignment '" + name + "' (expected none, landmarks or eyes)");
}

void crop_landmark_box_into(const ImageView& frame, const FaceLandmarks& points, int size,
                            std::uint8_t* out_rgb) {
  check_size(size);
  validate(frame);
  const cv::Rect region = faceapi_face_region(landmark_box(points), frame.width, frame.height);
  if (region.empty()) {
    std::memset(out_rgb, 0, static_cast<std::size_t>(size) * size * 3);
    return;
  }
  const cv::Mat pixels = faceapi_face_pixels(frame, region);
  // padToSquare(x, true), as face-api feeds its nets.
  const int side = std::max(pixels.cols, pixels.rows);
  const SquarePadding pad = faceapi_square_padding(pixels.cols, pixels.rows);
  cv::Mat square(side, side, CV_8UC3, cv::Scalar(0, 0, 0));
  pixels.copyTo(square(cv::Rect(pad.before_x, pad.before_y, pixels.cols, pixels.rows)));
  resize_into(square, size, out_rgb);
}

void crop_eye_aligned_into(const ImageView& frame, const FaceLandmarks& points, int size,
                           std::uint8_t* out_rgb) {
  check_size(size);
  validate(frame);
  std::memset(out_rgb, 0, static_cast<std::size_t>(size) * size * 3);
  const Point left = left_eye_centre(points), right = right_eye_centre(points);
  const double dx = right.x - left.x, dy = right.y - left.y;
  const double eyes = std::hypot(dx, dy);
  if (!(eyes > 0.0)) return;
  // crop = scale * rotate(-angle) * (image - eye midpoint) + target
  const double scale = kEyeDistance * size / eyes;
  const double c = scale * dx / eyes, s = scale * dy / eyes;
  const double mx = (left.x + right.x) / 2, my = (left.y + right.y) / 2;
  cv::Matx23d to_crop(c, s, 0.5 * size - (c * mx + s * my), -s, c,
                      kEyeLineY * size - (-s * mx + c * my));
  // Only the frame pixels the crop can see are converted: the preimage of the crop's corners.
  cv::Matx23d to_image;
  cv::invertAffineTransform(to_crop, to_image);
  double x0 = frame.width, y0 = frame.height, x1 = 0, y1 = 0;
  for (const auto& [u, v] : {std::pair<double, double>{0, 0}, {size, 0}, {0, size}, {size, size}}) {
    const double x = to_image(0, 0) * u + to_image(0, 1) * v + to_image(0, 2);
    const double y = to_image(1, 0) * u + to_image(1, 1) * v + to_image(1, 2);
    x0 = std::min(x0, x);
    y0 = std::min(y0, y);
    x1 = std::max(x1, x);
    y1 = std::max(y1, y);
  }
  const cv::Rect region =
      cv::Rect(
          cv::Point(static_cast<int>(std::floor(x0)) - 1, static_cast<int>(std::floor(y0)) - 1),
          cv::Point(static_cast<int>(std::ceil(x1)) + 2, static_cast<int>(std::ceil(y1)) + 2)) &
      cv::Rect(0, 0, frame.width, frame.height);
  if (region.empty()) return;
  const cv::Mat pixels = faceapi_face_pixels(frame, region);
  to_crop(0, 2) += c * region.x + s * region.y;
  to_crop(1, 2) += -s * region.x + c * region.y;
  cv::Mat out(size, size, CV_8UC3, out_rgb);
  // Shrinking by more than 2 would alias: smooth first.
  cv::Mat source = pixels;
  if (scale < 0.5) cv::GaussianBlur(pixels, source, cv::Size(), 0.5 / scale * 0.5);
  cv::warpAffine(source, out, cv::Mat(to_crop), out.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar(0, 0, 0));
}

FaceAligner::FaceAligner(FaceAlignment alignment, const std::string& landmark_model,
                         LandmarkNet net)
    : alignment_(alignment) {
  if (alignment_ != FaceAlignment::kNone) landmarker_ = FaceLandmarker::load(landmark_model, net);
}

FaceAligner::~FaceAligner() = default;

void FaceAligner::crop_from_points(const ImageView& frame, const FaceLandmarks& points, int size,
                                   std::uint8_t* out_rgb) const {
  if (alignment_ == FaceAlignment::kLandmarks)
    crop_landmark_box_into(frame, points, size, out_rgb);
  else
    crop_eye_aligned_into(frame, points, size, out_rgb);
}

void FaceAligner::crop_into(const ImageView& frame, const Box& face, int size, float margin,
                            std::uint8_t* out_rgb) {
  if (alignment_ == FaceAlignment::kNone) {
    crop_face_into(frame, square_around(face, margin), size, out_rgb);
    return;
  }
  crop_from_points(frame, landmarker_->locate(frame, face), size, out_rgb);
}

void FaceAligner::crop_tracked_into(const ImageView& frame, const Box& face, int size, float margin,
                                    int refresh_interval, TrackedLandmarks& memory,
                                    std::uint8_t* out_rgb) {
  if (refresh_interval < 1) throw SettingsError("landmark refresh interval must be at least 1");
  if (alignment_ == FaceAlignment::kNone || !(face.width > 0.f) || !(face.height > 0.f)) {
    crop_into(frame, face, size, margin, out_rgb);
    return;
  }
  FaceLandmarks points;
  if (memory.frames_since_refresh < 0 || memory.frames_since_refresh + 1 >= refresh_interval) {
    points = landmarker_->locate(frame, face);
    for (std::size_t i = 0; i < points.size(); ++i)
      memory.in_box[i] = {(points[i].x - face.x) / face.width,
                          (points[i].y - face.y) / face.height};
    memory.frames_since_refresh = 0;
  } else {
    for (std::size_t i = 0; i < points.size(); ++i)
      points[i] = {face.x + memory.in_box[i].x * face.width,
                   face.y + memory.in_box[i].y * face.height};
    ++memory.frames_since_refresh;
  }
  crop_from_points(frame, points, size, out_rgb);
}

}  // namespace hesp

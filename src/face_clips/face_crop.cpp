// SPDX-License-Identifier: LGPL-2.1-or-later
#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>

#include "hesp/error.h"
#include "hesp/face_clips.h"
#include "image/cv_image.h"

namespace hesp {

void crop_face_into(const ImageView& frame, const Box& square, int size, std::uint8_t* out_rgb) {
  validate(frame);
  if (size <= 0) throw InputError("crop size must be positive");
  if (!(square.width > 0.f) || !(square.height > 0.f))
    throw InputError("face crop square is empty");
  std::memset(out_rgb, 0, static_cast<size_t>(size) * size * 3);

  // The part of the square that lies inside the frame, in whole pixels. 4:2:0 formats need an even
  // rectangle so the chroma planes line up.
  int x0 = static_cast<int>(std::floor(std::max(0.f, square.x)));
  int y0 = static_cast<int>(std::floor(std::max(0.f, square.y)));
  int x1 = static_cast<int>(std::ceil(std::min<float>(frame.width, square.x + square.width)));
  int y1 = static_cast<int>(std::ceil(std::min<float>(frame.height, square.y + square.height)));
  if (frame.format == PixelFormat::kI420 || frame.format == PixelFormat::kNV12) {
    x0 &= ~1;
    y0 &= ~1;
    x1 = std::min(x1 + (x1 & 1), frame.width & ~1);
    y1 = std::min(y1 + (y1 & 1), frame.height & ~1);
  }
  if (x1 - x0 < 1 || y1 - y0 < 1) return;  // nothing of the face is visible: a black crop

  const cv::Mat region = rgb_region(frame, cv::Rect(x0, y0, x1 - x0, y1 - y0));

  // Where the visible part lands inside the size x size crop.
  const double scale = size / static_cast<double>(square.width);
  int dx0 = static_cast<int>(std::lround((x0 - square.x) * scale));
  int dy0 = static_cast<int>(std::lround((y0 - square.y) * scale));
  int dx1 = static_cast<int>(std::lround((x1 - square.x) * scale));
  int dy1 = static_cast<int>(std::lround((y1 - square.y) * scale));
  dx0 = std::clamp(dx0, 0, size);
  dy0 = std::clamp(dy0, 0, size);
  dx1 = std::clamp(dx1, 0, size);
  dy1 = std::clamp(dy1, 0, size);
  if (dx1 - dx0 < 1 || dy1 - dy0 < 1) return;

  cv::Mat out(size, size, CV_8UC3, out_rgb);
  cv::Mat dst = out(cv::Rect(dx0, dy0, dx1 - dx0, dy1 - dy0));
  const bool shrinking = dst.cols < region.cols;
  cv::resize(region, dst, dst.size(), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
}

FaceCrop crop_face(const ImageView& frame, const Box& square, int size) {
  FaceCrop crop;
  crop.size = size;
  crop.rgb.resize(static_cast<size_t>(size) * size * 3);
  crop_face_into(frame, square, size, crop.rgb.data());
  return crop;
}

}  // namespace hesp

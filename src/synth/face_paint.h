// SPDX-License-Identifier: LGPL-2.1-or-later
// Colours and the anti-aliased drawing calls the face is made of. Canvases are 8-bit RGB;
// coordinates are canvas pixels, drawn with sub-pixel precision; `off` shifts everything when
// drawing into a region of interest.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "synth/expression_face.h"

namespace hesp::synth::detail::face {

// Sub-pixel precision of OpenCV's drawing calls: coordinates are multiplied by 2^kShift.
constexpr int kShift = 4;
constexpr float kShiftScale = 16.f;

inline Rgb rgb(float r, float g, float b) { return {r, g, b}; }
inline Rgb mix(Rgb a, Rgb b, float t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}
inline Rgb mul(Rgb a, float k) { return {a.r * k, a.g * k, a.b * k}; }
inline Rgb clamp255(Rgb a) {
  return {std::clamp(a.r, 0.f, 255.f), std::clamp(a.g, 0.f, 255.f), std::clamp(a.b, 0.f, 255.f)};
}
inline cv::Scalar sc(Rgb c) {
  c = clamp255(c);
  return cv::Scalar(c.r, c.g, c.b);  // canvases are RGB
}

// Points in OpenCV's fixed-point drawing coordinates.
std::vector<cv::Point> fixed(const std::vector<cv::Point2f>& pts, cv::Point2f off = {});
// The pixels a set of points covers, grown by `pad` and cut to the image.
cv::Rect bounds(const std::vector<cv::Point2f>& pts, const cv::Size& size, int pad);

void fill(cv::Mat& img, const std::vector<cv::Point2f>& poly, Rgb colour, cv::Point2f off = {});
void stroke(cv::Mat& img, const std::vector<cv::Point2f>& line, Rgb colour, float width,
            cv::Point2f off = {});
void disc(cv::Mat& img, cv::Point2f c, float r, Rgb colour, cv::Point2f off = {});
// A translucent line: wrinkles darken whatever lies below (blush, stubble) instead of painting
// skin colour over it.
void stroke_alpha(cv::Mat& img, const std::vector<cv::Point2f>& line, Rgb colour, float width,
                  float alpha);
// A translucent area with a blurred edge (stubble shadow).
void soft_fill(cv::Mat& img, const std::vector<cv::Point2f>& poly, Rgb colour, float alpha,
               float sigma);

// Draws with `fn(layer, offset)` but keeps only what falls inside `clip` (anti-aliased edge):
// irises inside the eye opening, teeth inside the mouth, strands inside the hair.
template <class Fn>
void draw_clipped(cv::Mat& canvas, const std::vector<cv::Point2f>& clip, Fn&& fn) {
  const cv::Rect r = bounds(clip, canvas.size(), 2);
  if (r.width <= 0 || r.height <= 0 || clip.size() < 3) return;
  cv::Mat roi = canvas(r);
  cv::Mat layer = roi.clone();
  const cv::Point2f off(static_cast<float>(r.x), static_cast<float>(r.y));
  fn(layer, off);
  cv::Mat mask = cv::Mat::zeros(r.size(), CV_8U);
  const std::vector<std::vector<cv::Point>> polys{fixed(clip, off)};
  cv::fillPoly(mask, polys, cv::Scalar(255), cv::LINE_AA, kShift);
  for (int y = 0; y < r.height; ++y) {
    auto* dst = roi.ptr<cv::Vec3b>(y);
    const auto* src = layer.ptr<cv::Vec3b>(y);
    const auto* m = mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < r.width; ++x) {
      if (m[x] == 0) continue;
      if (m[x] == 255) {
        dst[x] = src[x];
        continue;
      }
      for (int c = 0; c < 3; ++c)
        dst[x][c] =
            static_cast<std::uint8_t>((src[x][c] * m[x] + dst[x][c] * (255 - m[x]) + 127) / 255);
    }
  }
}

}  // namespace hesp::synth::detail::face

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "synth/face_paint.h"

#include <algorithm>
#include <cmath>

namespace hesp::synth::detail::face {

std::vector<cv::Point> fixed(const std::vector<cv::Point2f>& pts, cv::Point2f off) {
  std::vector<cv::Point> out;
  out.reserve(pts.size());
  for (const auto& p : pts)
    out.emplace_back(cvRound((p.x - off.x) * kShiftScale), cvRound((p.y - off.y) * kShiftScale));
  return out;
}

void fill(cv::Mat& img, const std::vector<cv::Point2f>& poly, Rgb colour, cv::Point2f off) {
  if (poly.size() < 3) return;
  const std::vector<std::vector<cv::Point>> polys{fixed(poly, off)};
  cv::fillPoly(img, polys, sc(colour), cv::LINE_AA, kShift);
}

void stroke(cv::Mat& img, const std::vector<cv::Point2f>& line, Rgb colour, float width,
            cv::Point2f off) {
  if (line.size() < 2) return;
  const std::vector<std::vector<cv::Point>> lines{fixed(line, off)};
  cv::polylines(img, lines, false, sc(colour), std::max(1, cvRound(width)), cv::LINE_AA, kShift);
}

void disc(cv::Mat& img, cv::Point2f c, float r, Rgb colour, cv::Point2f off) {
  cv::circle(img,
             cv::Point(cvRound((c.x - off.x) * kShiftScale), cvRound((c.y - off.y) * kShiftScale)),
             std::max(1, cvRound(r * kShiftScale)), sc(colour), cv::FILLED, cv::LINE_AA, kShift);
}

void stroke_alpha(cv::Mat& img, const std::vector<cv::Point2f>& line, Rgb colour, float width,
                  float alpha) {
  const cv::Rect r = bounds(line, img.size(), static_cast<int>(width) + 2);
  if (r.width <= 0 || r.height <= 0 || line.size() < 2) return;
  cv::Mat roi = img(r);
  cv::Mat layer = roi.clone();
  stroke(layer, line, colour, width, cv::Point2f(static_cast<float>(r.x), static_cast<float>(r.y)));
  cv::addWeighted(layer, alpha, roi, 1.0 - alpha, 0.0, roi);
}

void soft_fill(cv::Mat& img, const std::vector<cv::Point2f>& poly, Rgb colour, float alpha,
               float sigma) {
  const cv::Rect r = bounds(poly, img.size(), static_cast<int>(3 * sigma) + 2);
  if (r.width <= 0 || r.height <= 0 || poly.size() < 3) return;
  cv::Mat mask = cv::Mat::zeros(r.size(), CV_32F);
  const std::vector<std::vector<cv::Point>> polys{
      fixed(poly, cv::Point2f(static_cast<float>(r.x), static_cast<float>(r.y)))};
  cv::fillPoly(mask, polys, cv::Scalar(alpha), cv::LINE_AA, kShift);
  cv::GaussianBlur(mask, mask, cv::Size(0, 0), std::max(0.5f, sigma));
  const Rgb c = clamp255(colour);
  for (int y = 0; y < r.height; ++y) {
    auto* row = img.ptr<cv::Vec3b>(r.y + y) + r.x;
    const float* m = mask.ptr<float>(y);
    for (int x = 0; x < r.width; ++x) {
      if (m[x] <= 0.f) continue;
      row[x][0] = cv::saturate_cast<uchar>(row[x][0] + (c.r - row[x][0]) * m[x]);
      row[x][1] = cv::saturate_cast<uchar>(row[x][1] + (c.g - row[x][1]) * m[x]);
      row[x][2] = cv::saturate_cast<uchar>(row[x][2] + (c.b - row[x][2]) * m[x]);
    }
  }
}

cv::Rect bounds(const std::vector<cv::Point2f>& pts, const cv::Size& size, int pad) {
  if (pts.empty()) return {};
  float x0 = pts[0].x, x1 = x0, y0 = pts[0].y, y1 = y0;
  for (const auto& p : pts) {
    x0 = std::min(x0, p.x);
    x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y);
    y1 = std::max(y1, p.y);
  }
  cv::Rect r(static_cast<int>(std::floor(x0)) - pad, static_cast<int>(std::floor(y0)) - pad,
             static_cast<int>(std::ceil(x1 - x0)) + 2 * pad + 1,
             static_cast<int>(std::ceil(y1 - y0)) + 2 * pad + 1);
  return r & cv::Rect(0, 0, size.width, size.height);
}

}  // namespace hesp::synth::detail::face

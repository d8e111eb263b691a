// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/shot_cut_detector.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "hesp/error.h"
#include "image/cv_image.h"

namespace hesp {

namespace {
constexpr int kSignatureWidth = 64;
constexpr int kHueBins = 16, kSaturationBins = 4, kValueBins = 4;
}  // namespace

ShotCutDetector::ShotCutDetector(ShotCutOptions options) : options_(options) {
  if (!(options_.threshold >= 0.0 && options_.threshold <= 1.0))
    throw SettingsError("cut-threshold must lie in 0..1");
}

std::vector<float> ShotCutDetector::signature(const ImageView& frame) {
  validate(frame);
  const cv::Mat bgr = bgr_of(frame);
  const int w = std::min(kSignatureWidth, bgr.cols);
  const int h = std::max(1, static_cast<int>(static_cast<long>(bgr.rows) * w / bgr.cols));
  cv::Mat small, hsv;
  cv::resize(bgr, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV);  // 8-bit: hue 0..179
  std::vector<float> hist(kHueBins * kSaturationBins * kValueBins, 0.f);
  for (int y = 0; y < hsv.rows; ++y) {
    const auto* p = hsv.ptr<cv::Vec3b>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      const int hb = std::min(kHueBins - 1, p[x][0] * kHueBins / 180);
      const int sb = p[x][1] * kSaturationBins / 256, vb = p[x][2] * kValueBins / 256;
      hist[(hb * kSaturationBins + sb) * kValueBins + vb] += 1.f;
    }
  }
  const float inv = 1.f / static_cast<float>(hsv.total());
  for (float& v : hist) v *= inv;
  return hist;
}

double ShotCutDetector::distance(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 1.0;
  double common = 0.0;
  for (size_t i = 0; i < a.size(); ++i) common += std::min(a[i], b[i]);
  return std::clamp(1.0 - common, 0.0, 1.0);
}

ShotCutResult ShotCutDetector::next(const ImageView& frame) {
  std::vector<float> current = signature(frame);
  ShotCutResult result;
  if (!previous_.empty()) {
    result.distance = distance(previous_, current);
    result.cut = options_.threshold > 0.0 && result.distance >= options_.threshold;
  }
  previous_ = std::move(current);
  return result;
}

}  // namespace hesp

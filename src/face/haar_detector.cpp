// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face/haar_detector.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "face/detector_support.h"
#include "hesp/error.h"
#include "image/cv_image.h"

namespace hesp {

HaarDetector::HaarDetector(const DetectorConfig& config, const std::string& cascade_path)
    : config_(config), path_(cascade_path) {
  bool loaded = false;
  try {
    loaded = cascade_.load(path_);
  } catch (const cv::Exception& e) {
    throw CorruptFileError("cannot read Haar cascade '" + path_ + "': " + e.what());
  }
  if (!loaded || cascade_.empty())
    throw CorruptFileError("'" + path_ + "' is not an OpenCV cascade classifier XML file");
  // minNeighbors from sensitivity: 0 -> 8 (strict), 1 -> 1 (permissive); 0.5 gives OpenCV's 4-5.
  min_neighbors_ = std::max(1, static_cast<int>(std::lround(8.0 - 7.0 * config_.sensitivity)));
  weak_min_neighbors_ = std::clamp(
      static_cast<int>(std::lround(min_neighbors_ * config_.weak_fraction)), 1, min_neighbors_);
}

float HaarDetector::confidence_threshold() const {
  // OpenCV keeps a group of raw hits when it has more than minNeighbors of them; detect() gives a
  // group of n hits the confidence n / (n + 2 minNeighbors) of the configured sensitivity.
  const double n = min_neighbors_ + 1;
  return static_cast<float>(n / (n + 2.0 * min_neighbors_)) - 1e-6f;
}

std::vector<Detection> HaarDetector::detect(const ImageView& frame) {
  validate(frame);
  const double scale = config_.input_scale;
  const int min_size = std::max(1, static_cast<int>(std::lround(config_.min_face_size * scale)));
  const cv::Mat gray = scaled_for_detection(gray_of(frame), scale);
  if (gray.cols < min_size || gray.rows < min_size) return {};
  cv::Mat equalized;
  cv::equalizeHist(gray, equalized);
  // The overload that reports neighbour counts keeps the cascade's early rejection; the one that
  // reports reject levels and weights evaluates far more stages and runs several times slower.
  std::vector<cv::Rect> rects;
  std::vector<int> neighbours;
  cascade_.detectMultiScale(equalized, rects, neighbours, config_.scale_factor, weak_min_neighbors_,
                            0, cv::Size(min_size, min_size), cv::Size());
  std::vector<Detection> out;
  out.reserve(rects.size());
  const float inv = static_cast<float>(1.0 / scale);
  for (size_t i = 0; i < rects.size(); ++i) {
    const auto& r = rects[i];
    // More overlapping raw hits = more certain; half-certain at twice the required neighbours.
    const double n = i < neighbours.size() ? neighbours[i] : min_neighbors_;
    const float confidence = static_cast<float>(n / (n + 2.0 * min_neighbors_));
    out.push_back(Detection{Box{r.x * inv, r.y * inv, r.width * inv, r.height * inv}, confidence});
  }
  keep_largest(out, config_.max_faces, confidence_threshold());
  return out;
}

}  // namespace hesp

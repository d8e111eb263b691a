// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face/detector_support.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

namespace hesp {

cv::Mat scaled_for_detection(const cv::Mat& image, double scale) {
  if (!(scale < 0.999)) return image;
  cv::Mat small;
  cv::resize(image, small, cv::Size(), scale, scale, cv::INTER_AREA);
  return small;
}

void keep_largest(std::vector<Detection>& faces, int max_faces, float confident_from) {
  auto larger = [](const Detection& a, const Detection& b) { return a.box.area() > b.box.area(); };
  std::sort(faces.begin(), faces.end(), larger);
  if (max_faces <= 0 || static_cast<int>(faces.size()) <= max_faces) return;
  // Weak candidates only fill the places the confident faces leave.
  const auto weak = std::stable_partition(faces.begin(), faces.end(), [&](const Detection& d) {
    return d.confidence >= confident_from;
  });
  const bool any_weak = weak != faces.end();
  faces.resize(max_faces);
  if (any_weak) std::stable_sort(faces.begin(), faces.end(), larger);
}

}  // namespace hesp

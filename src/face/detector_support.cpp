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

void keep_largest(std::vector<Detection>& faces, int max_faces) {
  std::sort(faces.begin(), faces.end(),
            [](const Detection& a, const Detection& b) { return a.box.area() > b.box.area(); });
  if (max_faces > 0 && static_cast<int>(faces.size()) > max_faces) faces.resize(max_faces);
}

}  // namespace hesp

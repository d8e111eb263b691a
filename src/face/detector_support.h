// SPDX-License-Identifier: LGPL-2.1-or-later
// Steps the OpenCV-based detectors share around their own search (internal to the core).
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "hesp/face_detector.h"

namespace hesp {

// The image the detector searches: `image` shrunk by DetectorConfig::input_scale (area
// interpolation), or `image` itself when the scale is (about) 1.
cv::Mat scaled_for_detection(const cv::Mat& image, double scale);

// Sorts the faces largest box first and keeps the first max_faces (0 = all).
// With weak candidates (DetectorConfig::weak_fraction < 1), those under confident_from are the
// first to go.
void keep_largest(std::vector<Detection>& faces, int max_faces, float confident_from = 0.f);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// OpenCV images as hesp::ImageView for tests.
#pragma once

#include <opencv2/core.hpp>

#include "hesp/image.h"

namespace hesp::test {

// A view of one packed (single-plane) image; `m` must outlive the view.
inline hesp::ImageView packed_view(const cv::Mat& m, hesp::PixelFormat format) {
  hesp::ImageView v;
  v.format = format;
  v.width = m.cols;
  v.height = m.rows;
  v.planes[0] = m.data;
  v.strides[0] = static_cast<int>(m.step);
  return v;
}

}  // namespace hesp::test

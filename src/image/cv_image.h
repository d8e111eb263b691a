// SPDX-License-Identifier: LGPL-2.1-or-later
// Bridges between hesp::ImageView and OpenCV matrices (internal to the core).
#pragma once

#include <opencv2/core.hpp>

#include "hesp/image.h"

namespace hesp {

// Luma of the frame: a view of the Y plane for GRAY8/I420/NV12 (no copy), a conversion otherwise.
cv::Mat gray_of(const ImageView& frame);

// The frame as 8-bit BGR (a conversion for every format but BGR, which is wrapped without a copy).
cv::Mat bgr_of(const ImageView& frame);

// The pixel rectangle rect (inside the frame; even-aligned by the caller for 4:2:0 formats) as RGB.
cv::Mat rgb_region(const ImageView& frame, const cv::Rect& rect);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "image/cv_image.h"

#include <opencv2/imgproc.hpp>

#include "hesp/error.h"

namespace hesp {

namespace {
cv::Mat plane(const ImageView& f, int index, int rows, int cols, int type) {
  return cv::Mat(rows, cols, type, const_cast<std::uint8_t*>(f.planes[index]),
                 static_cast<size_t>(f.strides[index]));
}

cv::Mat packed(const ImageView& f) {
  switch (f.format) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR: return plane(f, 0, f.height, f.width, CV_8UC3);
    case PixelFormat::kRGBA:
    case PixelFormat::kBGRA:
    case PixelFormat::kRGBx:
    case PixelFormat::kBGRx: return plane(f, 0, f.height, f.width, CV_8UC4);
    default: return plane(f, 0, f.height, f.width, CV_8UC1);
  }
}

// OpenCV's colour conversion code from a packed format to RGB (to_rgb) or BGR.
int packed_code(PixelFormat format, bool to_rgb) {
  switch (format) {
    case PixelFormat::kRGB: return to_rgb ? -1 : cv::COLOR_RGB2BGR;
    case PixelFormat::kBGR: return to_rgb ? cv::COLOR_BGR2RGB : -1;
    case PixelFormat::kRGBA:
    case PixelFormat::kRGBx: return to_rgb ? cv::COLOR_RGBA2RGB : cv::COLOR_RGBA2BGR;
    case PixelFormat::kBGRA:
    case PixelFormat::kBGRx: return to_rgb ? cv::COLOR_BGRA2RGB : cv::COLOR_BGRA2BGR;
    case PixelFormat::kGRAY8: return to_rgb ? cv::COLOR_GRAY2RGB : cv::COLOR_GRAY2BGR;
    default: return -1;
  }
}

// Copies a 4:2:0 rectangle into one contiguous I420 or NV12 block that cvtColor understands.
cv::Mat yuv420_region(const ImageView& f, const cv::Rect& r) {
  const int cw = r.width / 2, ch = r.height / 2, cx = r.x / 2, cy = r.y / 2;
  cv::Mat block(r.height + ch, r.width, CV_8UC1);
  plane(f, 0, f.height, f.width, CV_8UC1)(r).copyTo(block.rowRange(0, r.height));
  const int chroma_h = (f.height + 1) / 2, chroma_w = (f.width + 1) / 2;
  if (f.format == PixelFormat::kNV12) {
    cv::Mat uv = plane(f, 1, chroma_h, chroma_w, CV_8UC2)(cv::Rect(cx, cy, cw, ch));
    cv::Mat dst(ch, cw, CV_8UC2, block.ptr(r.height));
    uv.copyTo(dst);
  } else {
    cv::Mat u = plane(f, 1, chroma_h, chroma_w, CV_8UC1)(cv::Rect(cx, cy, cw, ch));
    cv::Mat v = plane(f, 2, chroma_h, chroma_w, CV_8UC1)(cv::Rect(cx, cy, cw, ch));
    u.copyTo(cv::Mat(ch, cw, CV_8UC1, block.ptr(r.height)));
    v.copyTo(cv::Mat(ch, cw, CV_8UC1, block.ptr(r.height) + static_cast<size_t>(cw) * ch));
  }
  return block;
}
}  // namespace

cv::Mat gray_of(const ImageView& f) {
  switch (f.format) {
    case PixelFormat::kGRAY8:
    case PixelFormat::kI420:
    case PixelFormat::kNV12: return plane(f, 0, f.height, f.width, CV_8UC1);
    case PixelFormat::kRGB: {
      cv::Mat g;
      cv::cvtColor(packed(f), g, cv::COLOR_RGB2GRAY);
      return g;
    }
    case PixelFormat::kBGR: {
      cv::Mat g;
      cv::cvtColor(packed(f), g, cv::COLOR_BGR2GRAY);
      return g;
    }
    case PixelFormat::kRGBA:
    case PixelFormat::kRGBx: {
      cv::Mat g;
      cv::cvtColor(packed(f), g, cv::COLOR_RGBA2GRAY);
      return g;
    }
    case PixelFormat::kBGRA:
    case PixelFormat::kBGRx: {
      cv::Mat g;
      cv::cvtColor(packed(f), g, cv::COLOR_BGRA2GRAY);
      return g;
    }
  }
  throw InputError("unsupported pixel format");
}

cv::Mat bgr_of(const ImageView& f) {
  if (f.format == PixelFormat::kBGR) return packed(f);
  if (f.format == PixelFormat::kI420 || f.format == PixelFormat::kNV12) {
    const cv::Rect even(0, 0, f.width & ~1, f.height & ~1);
    cv::Mat bgr;
    if (even.width == 0 || even.height == 0) return cv::Mat(f.height, f.width, CV_8UC3, cv::Scalar(0));
    cv::cvtColor(yuv420_region(f, even), bgr,
                 f.format == PixelFormat::kNV12 ? cv::COLOR_YUV2BGR_NV12 : cv::COLOR_YUV2BGR_I420);
    if (even.width != f.width || even.height != f.height)
      cv::copyMakeBorder(bgr, bgr, 0, f.height - even.height, 0, f.width - even.width,
                         cv::BORDER_REPLICATE);
    return bgr;
  }
  cv::Mat bgr;
  cv::cvtColor(packed(f), bgr, packed_code(f.format, false));
  return bgr;
}

cv::Mat rgb_region(const ImageView& f, const cv::Rect& r) {
  if (f.format == PixelFormat::kI420 || f.format == PixelFormat::kNV12) {
    cv::Mat rgb;
    cv::cvtColor(yuv420_region(f, r), rgb,
                 f.format == PixelFormat::kNV12 ? cv::COLOR_YUV2RGB_NV12 : cv::COLOR_YUV2RGB_I420);
    return rgb;
  }
  const cv::Mat roi = packed(f)(r);
  const int code = packed_code(f.format, true);
  if (code < 0) return roi;
  cv::Mat rgb;
  cv::cvtColor(roi, rgb, code);
  return rgb;
}

}  // namespace hesp

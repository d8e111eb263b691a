// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/image.h"

#include <algorithm>
#include <cmath>

#include "hesp/error.h"

namespace hesp {

const char* pixel_format_name(PixelFormat format) {
  switch (format) {
    case PixelFormat::kRGB: return "RGB";
    case PixelFormat::kBGR: return "BGR";
    case PixelFormat::kRGBA: return "RGBA";
    case PixelFormat::kBGRA: return "BGRA";
    case PixelFormat::kRGBx: return "RGBx";
    case PixelFormat::kBGRx: return "BGRx";
    case PixelFormat::kI420: return "I420";
    case PixelFormat::kNV12: return "NV12";
    case PixelFormat::kGRAY8: return "GRAY8";
  }
  return "unknown";
}

namespace {
int bytes_per_pixel(PixelFormat format) {
  switch (format) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR: return 3;
    case PixelFormat::kRGBA:
    case PixelFormat::kBGRA:
    case PixelFormat::kRGBx:
    case PixelFormat::kBGRx: return 4;
    default: return 1;
  }
}
}  // namespace

void validate(const ImageView& image) {
  if (image.width <= 0 || image.height <= 0)
    throw InputError("frame has no pixels (" + std::to_string(image.width) + "x" +
                     std::to_string(image.height) + ")");
  int planes = 1;
  if (image.format == PixelFormat::kI420) planes = 3;
  if (image.format == PixelFormat::kNV12) planes = 2;
  for (int p = 0; p < planes; ++p) {
    if (image.planes[p] == nullptr)
      throw InputError(std::string(pixel_format_name(image.format)) + " frame lacks plane " +
                       std::to_string(p));
  }
  if (image.strides[0] < image.width * bytes_per_pixel(image.format))
    throw InputError("frame stride " + std::to_string(image.strides[0]) + " is shorter than a row");
}

float iou(const Box& a, const Box& b) {
  const float x0 = std::max(a.x, b.x);
  const float y0 = std::max(a.y, b.y);
  const float x1 = std::min(a.x + a.width, b.x + b.width);
  const float y1 = std::min(a.y + a.height, b.y + b.height);
  const float inter = std::max(0.f, x1 - x0) * std::max(0.f, y1 - y0);
  const float uni = a.area() + b.area() - inter;
  return uni > 0.f ? inter / uni : 0.f;
}

Box clip_to_frame(const Box& box, int width, int height) {
  const float x0 = std::clamp(box.x, 0.f, static_cast<float>(width));
  const float y0 = std::clamp(box.y, 0.f, static_cast<float>(height));
  const float x1 = std::clamp(box.x + box.width, 0.f, static_cast<float>(width));
  const float y1 = std::clamp(box.y + box.height, 0.f, static_cast<float>(height));
  return Box{x0, y0, std::max(0.f, x1 - x0), std::max(0.f, y1 - y0)};
}

Box square_around(const Box& box, float margin) {
  const float side = std::max(box.width, box.height) * (1.f + 2.f * margin);
  return Box{box.center_x() - side * 0.5f, box.center_y() - side * 0.5f, side, side};
}

}  // namespace hesp

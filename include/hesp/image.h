// SPDX-License-Identifier: LGPL-2.1-or-later
// A non-owning view of one video frame as it lies in memory, in any of the raw formats the elements
// accept. The core never copies a whole frame unless an algorithm needs another layout.
#pragma once

#include <cstdint>
#include <string>

namespace hesp {

enum class PixelFormat { kRGB, kBGR, kRGBA, kBGRA, kRGBx, kBGRx, kI420, kNV12, kGRAY8 };

// Human-readable name ("RGB", "I420", ...) as GStreamer spells it.
const char* pixel_format_name(PixelFormat format);

struct ImageView {
  PixelFormat format = PixelFormat::kRGB;
  int width = 0;
  int height = 0;
  // Plane pointers and strides in bytes; packed formats use plane 0 only, NV12 planes 0-1,
  // I420 planes 0-2.
  const std::uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};
};

// Throws InputError when the view is unusable (null planes, non-positive size, short strides).
void validate(const ImageView& image);

// An axis-aligned box in pixel coordinates (x, y = top-left corner).
struct Box {
  float x = 0.f;
  float y = 0.f;
  float width = 0.f;
  float height = 0.f;

  float area() const { return width > 0.f && height > 0.f ? width * height : 0.f; }
  float center_x() const { return x + width * 0.5f; }
  float center_y() const { return y + height * 0.5f; }
};

// Intersection over union of two boxes; 0 when either is empty.
float iou(const Box& a, const Box& b);

// The box clipped to [0,width)x[0,height); may come out empty.
Box clip_to_frame(const Box& box, int width, int height);

// The square of side max(w, h) * (1 + 2 * margin) centred on the box: the face crop with context.
Box square_around(const Box& box, float margin);

}  // namespace hesp

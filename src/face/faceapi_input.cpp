// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face/faceapi_input.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "hesp/error.h"
#include "image/cv_image.h"

namespace hesp {

cv::Rect faceapi_face_region(const Box& box, int width, int height) {
  const double x = std::max<double>(box.x, 0.0);
  const double y = std::max<double>(box.y, 0.0);
  const double w = std::min<double>(box.x + box.width - x, width - x);
  const double h = std::min<double>(box.y + box.height - y, height - y);
  const cv::Rect region(static_cast<int>(std::floor(x)), static_cast<int>(std::floor(y)),
                        static_cast<int>(std::floor(w)), static_cast<int>(std::floor(h)));
  // Whatever rounding did, the region stays inside the image.
  return region.width > 0 && region.height > 0 ? region & cv::Rect(0, 0, width, height)
                                               : cv::Rect();
}

cv::Mat faceapi_face_pixels(const ImageView& frame, const cv::Rect& region) {
  if (frame.format != PixelFormat::kI420 && frame.format != PixelFormat::kNV12)
    return rgb_region(frame, region).clone();
  // 4:2:0 chroma covers 2 x 2 pixels: convert the even rectangle around the region, then cut.
  const int x0 = region.x & ~1, y0 = region.y & ~1;
  const int x1 = std::min(region.x + region.width + 1, frame.width) & ~1;
  const int y1 = std::min(region.y + region.height + 1, frame.height) & ~1;
  if (x1 <= x0 || y1 <= y0) throw InputError("face region too small for a 4:2:0 frame");
  const cv::Mat even = rgb_region(frame, cv::Rect(x0, y0, x1 - x0, y1 - y0));
  const cv::Rect inside = (region - cv::Point(x0, y0)) & cv::Rect(0, 0, even.cols, even.rows);
  return even(inside).clone();
}

SquarePadding faceapi_square_padding(int width, int height) {
  const int diff = std::abs(width - height);
  // padToSquare appends round(diff * 0.5) and prepends what remains.
  const int before = diff - static_cast<int>(std::lround(diff * 0.5));
  return width < height ? SquarePadding{before, 0} : SquarePadding{0, before};
}

torch::Tensor faceapi_square_input(const cv::Mat& rgb, int size, const std::array<float, 3>& mean) {
  CV_Assert(rgb.type() == CV_8UC3 && !rgb.empty());
  const int width = rgb.cols, height = rgb.rows;
  const int side = std::max(width, height);
  const SquarePadding pad = faceapi_square_padding(width, height);
  // The value of square pixel (sx, sy) of channel ch: 0 in the padding.
  auto at = [&](int sx, int sy, int ch) -> double {
    const int x = sx - pad.before_x, y = sy - pad.before_y;
    if (x < 0 || y < 0 || x >= width || y >= height) return 0.0;
    return rgb.ptr<std::uint8_t>(y)[3 * x + ch];
  };
  struct Tap {
    int lo, hi;
    double frac;
  };
  // resizeBilinear(alignCorners=false, halfPixelCenters=false): source = ratio * index; an
  // identity resize when side == size.
  const double ratio = static_cast<double>(side) / size;
  std::vector<Tap> taps(size);
  for (int i = 0; i < size; ++i) {
    const double src = ratio * i;
    const int lo = static_cast<int>(std::floor(src));
    taps[i] = {lo, std::min(side - 1, static_cast<int>(std::ceil(src))), src - lo};
  }
  auto input = torch::empty({1, size, size, 3}, torch::kFloat);
  float* out = input.data_ptr<float>();
  for (int r = 0; r < size; ++r) {
    const Tap& ty = taps[r];
    for (int c = 0; c < size; ++c) {
      const Tap& tx = taps[c];
      for (int ch = 0; ch < 3; ++ch, ++out) {
        // Each tap is a float32 in TFJS (the cast tensor); the arithmetic is in double.
        const double tl = at(tx.lo, ty.lo, ch), tr = at(tx.hi, ty.lo, ch);
        const double bl = at(tx.lo, ty.hi, ch), br = at(tx.hi, ty.hi, ch);
        const double top = tl + (tr - tl) * tx.frac;
        const double bottom = bl + (br - bl) * tx.frac;
        const float value = static_cast<float>(top + (bottom - top) * ty.frac);
        *out = (value - mean[ch]) / 255.f;
      }
    }
  }
  return input.permute({0, 3, 1, 2}).contiguous();
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP preprocessing. The resampler reproduces PIL's fixed-point bicubic resize because CLIP was
// trained on PIL output: OpenCV's INTER_CUBIC does not widen the filter when shrinking, so on a
// large photo it samples instead of averaging and the embedding drifts noticeably.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "hesp/clip_preprocess.h"
#include "hesp/error.h"

namespace hesp {

namespace {

// Fixed-point precision of PIL's 8-bit resampler: 32 bits minus 8 for the pixel value and 2 of
// headroom for the sums.
constexpr int kPrecisionBits = 32 - 8 - 2;

// Keys' cubic convolution kernel with a = -0.5, as PIL uses for BICUBIC.
double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Per output pixel: the first input pixel used and integer weights for the following ones.
struct Taps {
  int size = 0;  // weights per output pixel (stride of `weights`)
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weights;
};

Taps make_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;
  const double inverse_scale = 1.0 / filter_scale;  // multiplied, not divided, as PIL does
  Taps t;
  t.size = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(static_cast<std::size_t>(out_size) * t.size, 0);
  std::vector<double> w(t.size);
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    // Truncation toward zero after +0.5, as PIL rounds these bounds.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    double total = 0.0;
    for (int k = 0; k < n; ++k) {
      w[k] = bicubic((k + lo - center + 0.5) * inverse_scale);
      total += w[k];
    }
    for (int k = 0; k < n; ++k) {
      const double v = total != 0.0 ? w[k] / total : w[k];
      const double fixed = v * (1 << kPrecisionBits);
      t.weights[static_cast<std::size_t>(o) * t.size + k] =
          static_cast<std::int32_t>(v < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    t.first[o] = lo;
    t.count[o] = n;
  }
  return t;
}

std::uint8_t clip8(std::int64_t v) {
  if (v <= 0) return 0;
  if (v >= (std::int64_t{255} << kPrecisionBits)) return 255;
  return static_cast<std::uint8_t>(v >> kPrecisionBits);
}

void resample_rows(const std::uint8_t* src, int rows, int src_stride, std::uint8_t* dst,
                   int out_width, const Taps& t) {
  for (int y = 0; y < rows; ++y) {
    const std::uint8_t* in = src + static_cast<std::size_t>(y) * src_stride;
    std::uint8_t* out = dst + static_cast<std::size_t>(y) * out_width * 3;
    for (int x = 0; x < out_width; ++x) {
      const std::int32_t* w = &t.weights[static_cast<std::size_t>(x) * t.size];
      const std::uint8_t* p = in + static_cast<std::size_t>(t.first[x]) * 3;
      std::int64_t r = 1 << (kPrecisionBits - 1), g = r, b = r;
      for (int k = 0; k < t.count[x]; ++k, p += 3) {
        r += p[0] * std::int64_t{w[k]};
        g += p[1] * std::int64_t{w[k]};
        b += p[2] * std::int64_t{w[k]};
      }
      out[3 * x] = clip8(r);
      out[3 * x + 1] = clip8(g);
      out[3 * x + 2] = clip8(b);
    }
  }
}

void resample_columns(const std::uint8_t* src, int width, int src_stride, std::uint8_t* dst,
                      int out_height, const Taps& t) {
  for (int y = 0; y < out_height; ++y) {
    const std::int32_t* w = &t.weights[static_cast<std::size_t>(y) * t.size];
    std::uint8_t* out = dst + static_cast<std::size_t>(y) * width * 3;
    for (int x = 0; x < width * 3; ++x) {
      std::int64_t acc = 1 << (kPrecisionBits - 1);
      const std::uint8_t* p = src + static_cast<std::size_t>(t.first[y]) * src_stride + x;
      for (int k = 0; k < t.count[y]; ++k, p += src_stride) acc += *p * std::int64_t{w[k]};
      out[x] = clip8(acc);
    }
  }
}

void check_image(const std::uint8_t* rgb, int width, int height, int stride) {
  if (!rgb || width <= 0 || height <= 0 || stride < 3 * width)
    throw InputError("RGB image " + std::to_string(width) + "x" + std::to_string(height) +
                     " with row stride " + std::to_string(stride) + " is not usable");
}

}  // namespace

RgbImage read_rgb_image(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw FileNotFoundError("image '" + path + "' not found");
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  if (bgr.empty()) throw CorruptFileError("cannot decode image '" + path + "'");
  RgbImage image;
  image.width = bgr.cols;
  image.height = bgr.rows;
  image.pixels.resize(static_cast<std::size_t>(bgr.cols) * bgr.rows * 3);
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, image.pixels.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return image;
}

void resize_bicubic(const std::uint8_t* src, int width, int height, int src_stride,
                    std::uint8_t* dst, int out_width, int out_height) {
  check_image(src, width, height, src_stride);
  if (out_width <= 0 || out_height <= 0)
    throw InputError("cannot resize to " + std::to_string(out_width) + "x" +
                     std::to_string(out_height));
  const bool horizontal = out_width != width;
  const bool vertical = out_height != height;
  if (!horizontal && !vertical) {
    for (int y = 0; y < height; ++y)
      std::memcpy(dst + static_cast<std::size_t>(y) * width * 3,
                  src + static_cast<std::size_t>(y) * src_stride,
                  static_cast<std::size_t>(width) * 3);
    return;
  }
  // Horizontal first, then vertical on the 8-bit intermediate, as PIL does.
  std::vector<std::uint8_t> temp;
  const std::uint8_t* stage = src;
  int stage_stride = src_stride;
  if (horizontal) {
    std::uint8_t* out = dst;
    if (vertical) {
      temp.resize(static_cast<std::size_t>(out_width) * height * 3);
      out = temp.data();
    }
    resample_rows(src, height, src_stride, out, out_width, make_taps(width, out_width));
    stage = out;
    stage_stride = out_width * 3;
  }
  if (vertical)
    resample_columns(stage, out_width, stage_stride, dst, out_height,
                     make_taps(height, out_height));
}

CenterCrop clip_center_crop(int width, int height, int size) {
  CenterCrop c;
  // torchvision's Resize(int): the short side becomes `size`, the long side is truncated.
  if (width <= height) {
    c.resized_width = size;
    c.resized_height = static_cast<int>(static_cast<double>(size) * height / width);
  } else {
    c.resized_height = size;
    c.resized_width = static_cast<int>(static_cast<double>(size) * width / height);
  }
  // torchvision's CenterCrop rounds the offset with Python's round(): halves go to even.
  c.left = static_cast<int>(std::nearbyint((c.resized_width - size) / 2.0));
  c.top = static_cast<int>(std::nearbyint((c.resized_height - size) / 2.0));
  return c;
}

void clip_preprocess(const std::uint8_t* rgb, int width, int height, int stride, int size,
                     float* out_chw) {
  check_image(rgb, width, height, stride);
  if (size <= 0) throw InputError("CLIP input size must be positive");
  std::vector<std::uint8_t> resized;
  const std::uint8_t* base = rgb;
  int base_stride = stride;
  if (width != size || height != size) {
    const CenterCrop c = clip_center_crop(width, height, size);
    resized.resize(static_cast<std::size_t>(c.resized_width) * c.resized_height * 3);
    resize_bicubic(rgb, width, height, stride, resized.data(), c.resized_width, c.resized_height);
    base_stride = c.resized_width * 3;
    base = resized.data() + static_cast<std::size_t>(c.top) * base_stride + c.left * 3;
  }
  // Same float operations as ToTensor + Normalize: v / 255, then (v - mean) / std.
  const std::size_t plane = static_cast<std::size_t>(size) * size;
  for (int y = 0; y < size; ++y) {
    const std::uint8_t* row = base + static_cast<std::size_t>(y) * base_stride;
    for (int x = 0; x < size; ++x) {
      const std::size_t o = static_cast<std::size_t>(y) * size + x;
      for (int ch = 0; ch < 3; ++ch)
        out_chw[ch * plane + o] = (row[3 * x + ch] / 255.0f - kClipMean[ch]) / kClipStd[ch];
    }
  }
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP's image preprocessing, done the way OpenAI's reference does it (PIL bicubic resize of the
// short side, centre crop, mean/std normalisation), on packed RGB bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hesp {

// Per-channel (R, G, B) statistics CLIP was trained with, for pixels scaled to [0, 1].
inline constexpr float kClipMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr float kClipStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

// An owned, packed RGB image (row stride = 3 * width).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
};

// Decodes an image file to RGB. EXIF orientation is ignored, as in CLIP's reference pipeline.
// Throws FileNotFoundError, or CorruptFileError when it cannot be decoded.
RgbImage read_rgb_image(const std::string& path);

// Resamples packed RGB (src_stride bytes per row) to out_width x out_height with PIL's bicubic
// filter (a = -0.5, support widened by the scale factor when shrinking, two passes with 8-bit
// rounding in between), so images look to the model as they did through PIL.
void resize_bicubic(const std::uint8_t* src, int width, int height, int src_stride,
                    std::uint8_t* dst, int out_width, int out_height);

// The square region CLIP keeps: the short side is scaled to `size` (the long side to
// floor(size * long / short)), then a centred size x size crop.
struct CenterCrop {
  int resized_width = 0;
  int resized_height = 0;
  int left = 0;
  int top = 0;
};
CenterCrop clip_center_crop(int width, int height, int size);

// Full CLIP preprocessing of one RGB image into 3 x size x size floats (CHW, normalised).
// Images that already are size x size are only normalised.
void clip_preprocess(const std::uint8_t* rgb, int width, int height, int stride, int size,
                     float* out_chw);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// What face-api.js's face networks (landmarks, recognition, expressions) are fed for a face box:
// the region extractFaceTensors cuts from the image, padded to a centred square and resized the
// way NetInput.toBatchTensor(size, true) does it on a tensor input. Shared by the LibTorch ports
// in this folder so that each sees exactly the numbers face-api's runtime computes.
#pragma once

#include <torch/types.h>

#include <array>
#include <opencv2/core.hpp>

#include "hesp/image.h"

namespace hesp {

// The per-channel RGB mean face-api's face networks subtract (before dividing by 255).
inline constexpr std::array<float, 3> kFaceApiMeanRgb = {122.782f, 117.001f, 104.298f};

// The pixels of the box as face-api's extractFaceTensors takes them: the box clipped at the
// image borders, then each of x, y, width and height rounded down (Box.clipAtImageBorders). May
// be empty for a box outside the image.
cv::Rect faceapi_face_region(const Box& box, int width, int height);

// The region of the frame as packed 8-bit RGB (a copy).
cv::Mat faceapi_face_pixels(const ImageView& frame, const cv::Rect& region);

// The network input [1, 3, size, size] for an RGB crop: zero padding to a square (the larger
// half, round(diff / 2), after the picture, the rest before: padToSquare(x, true)), TensorFlow's
// legacy bilinear resize (no half-pixel centres) when the square is not size x size, minus
// `mean`, over 255. Intermediates in double, results in float, as TFJS's cpu kernels compute.
torch::Tensor faceapi_square_input(const cv::Mat& rgb, int size, const std::array<float, 3>& mean);

// Where the crop sits in that square, in the crop's own pixels: the padding before the picture
// along x and y (one of them is 0).
struct SquarePadding {
  int before_x = 0;
  int before_y = 0;
};
SquarePadding faceapi_square_padding(int width, int height);

}  // namespace hesp

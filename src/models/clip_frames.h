// SPDX-License-Identifier: LGPL-2.1-or-later
// The first step of every classify(): check the clips and gather all their frames, at the model's
// input size, into one buffer for a batched forward pass.
#pragma once

#include <cstdint>
#include <vector>

#include "hesp/expression_model.h"

namespace hesp::models {

struct PackedFrames {
  std::int64_t count = 0;         // frames of all clips, in clip order
  std::vector<std::uint8_t> rgb;  // count x size x size x 3
};

// The number of frames of all clips together. Throws InputError naming the first empty clip (no
// pixels, no frames or no size).
std::int64_t count_clip_frames(const std::vector<ClipView>& clips);

// Throws InputError naming the first empty clip (no pixels, no frames or no size). Crops of
// another size are resized as the data loader resizes (area when shrinking, bilinear when
// enlarging), so a model sees the same pixels in a pipeline as in training.
PackedFrames pack_clip_frames(const std::vector<ClipView>& clips, int size);

}  // namespace hesp::models

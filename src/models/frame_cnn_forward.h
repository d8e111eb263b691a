// SPDX-License-Identifier: LGPL-2.1-or-later
// The forward pass of the packs that run a CNN on every frame of a clip (fer-cnn, mini-xception):
// all frames of all clips packed at the model's input size, run in chunks that bound peak memory,
// and their logits gathered in clip order.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "hesp/expression_model.h"

namespace hesp::models {

// The frames of `clips` at `size` x `size` (models/clip_frames.h), at most `max_frames` per
// forward pass: each chunk goes to `device` as uint8 [n, size, size, 3] (RGB, 0-255) and
// `forward` turns it into logits [n, classes] (normalising as its network wants). Returns the
// logits of all frames, row-major [frames, classes] in float32. Runs in inference mode.
std::vector<float> frame_cnn_forward(
    const std::vector<ClipView>& clips, int size, std::int64_t max_frames,
    const torch::Device& device,
    const std::function<torch::Tensor(const torch::Tensor& rgb)>& forward);

}  // namespace hesp::models

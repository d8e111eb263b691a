// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/frame_cnn_forward.h"

#include <algorithm>

#include "models/clip_frames.h"

namespace hesp::models {

std::vector<float> frame_cnn_forward(
    const std::vector<ClipView>& clips, int size, std::int64_t max_frames,
    const torch::Device& device,
    const std::function<torch::Tensor(const torch::Tensor& rgb)>& forward) {
  PackedFrames packed = pack_clip_frames(clips, size);
  const std::int64_t total = packed.count;

  c10::InferenceMode guard;
  const auto frames = torch::from_blob(packed.rgb.data(), {total, size, size, 3}, torch::kUInt8);
  std::vector<torch::Tensor> parts;
  for (std::int64_t begin = 0; begin < total; begin += max_frames) {
    const std::int64_t end = std::min(total, begin + max_frames);
    parts.push_back(
        forward(frames.slice(0, begin, end).to(device)).to(torch::kCPU, torch::kFloat32));
  }
  const torch::Tensor logits = torch::cat(parts).contiguous();  // [total, classes]
  const float* l = logits.data_ptr<float>();
  return std::vector<float>(l, l + logits.numel());
}

}  // namespace hesp::models

// SPDX-License-Identifier: LGPL-2.1-or-later
// The mini-Xception expression network of oarriaga/face_classification (FER2013, 64x64 grey), as
// the Human library ships it (TensorFlow.js graph model, batch norms folded into the
// convolutions), as a LibTorch module. Parameter names are the pack's tensor names;
// human_emotion_convert.cpp maps the graph's weights onto them.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace hesp {
class ModelPack;
}

namespace hesp::nets {

struct MiniXceptionOptions {
  int in_channels = 1;
  // The two plain 3x3 convolutions of the stem (the first with stride 2), no padding.
  std::vector<int> stem_channels = {32, 64};
  // One residual block per width: two separable 3x3 convolutions and a 3x3/2 max pool, beside a
  // strided 1x1 convolution.
  std::vector<int> block_channels = {128, 256};
  int num_classes = 7;
};

// Reads manifest["architecture"]; throws CorruptFileError naming `source` on bad values.
MiniXceptionOptions mini_xception_options_from_json(const nlohmann::json& architecture,
                                                    const std::string& source);

// Depthwise 3x3 (no bias, 'same' padding) then pointwise 1x1 with the folded batch norm's bias.
class XceptionSeparableImpl : public torch::nn::Module {
 public:
  XceptionSeparableImpl(int in_channels, int out_channels);
  // [N, in, H, W] -> [N, out, H, W]
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d depthwise_{nullptr};
  torch::nn::Conv2d pointwise_{nullptr};
};
TORCH_MODULE(XceptionSeparable);

class XceptionBlockImpl : public torch::nn::Module {
 public:
  XceptionBlockImpl(int in_channels, int out_channels);
  // [N, in, H, W] -> [N, out, ceil(H/2), ceil(W/2)]
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d shortcut_{nullptr};
  XceptionSeparable sep1_{nullptr}, sep2_{nullptr};
};
TORCH_MODULE(XceptionBlock);

class MiniXceptionImpl : public torch::nn::Module {
 public:
  explicit MiniXceptionImpl(const MiniXceptionOptions& options);
  // Grey images scaled to [-1, 1], [N, 1, 64, 64] -> logits [N, num_classes] (the network's
  // softmax input: the spatial mean of its last convolution).
  torch::Tensor forward(const torch::Tensor& x);
  const MiniXceptionOptions& options() const { return options_; }

 private:
  MiniXceptionOptions options_;
  std::vector<torch::nn::Conv2d> stem_;
  std::vector<XceptionBlock> blocks_;
  torch::nn::Conv2d head_{nullptr};
};
TORCH_MODULE(MiniXception);

// Builds the network from a mini-xception pack and copies its tensors in (F32, F16 or BF16).
// Throws CorruptFileError naming the pack when a parameter is missing, has another shape, or the
// pack holds tensors the architecture has no place for.
MiniXception load_mini_xception(const ModelPack& pack);

}  // namespace hesp::nets

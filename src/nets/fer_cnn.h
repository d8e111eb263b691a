// SPDX-License-Identifier: LGPL-2.1-or-later
// The face-api.js facial expression network as a LibTorch module. Parameter names are the pack's
// tensor names; faceapi_convert.cpp maps the TensorFlow.js weights onto them.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <nlohmann/json_fwd.hpp>
#include <vector>

namespace hesp {
class ModelPack;
}

namespace hesp::nets {

struct FerCnnConfig {
  std::vector<int> block_channels = {32, 64, 128, 256};
  int in_channels = 3;
  int num_classes = 7;
  int pool_kernel = 7;
  int pool_stride = 2;
};

// Reads manifest["architecture"]; throws CorruptFileError naming `source` on bad values.
FerCnnConfig fer_cnn_config_from_json(const nlohmann::json& architecture,
                                      const std::string& source);

// Depthwise 3x3 (no bias) then pointwise 1x1 (with bias), TensorFlow 'same' padding, like
// tf.separableConv2d followed by the bias add face-api.js does.
class SeparableConvImpl : public torch::nn::Module {
 public:
  SeparableConvImpl(int in_channels, int out_channels, int stride);
  // [N, in, H, W] -> [N, out, ceil(H/stride), ceil(W/stride)]
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int stride_;
  torch::nn::Conv2d depthwise_{nullptr};
  torch::nn::Conv2d pointwise_{nullptr};
};
TORCH_MODULE(SeparableConv);

// Four convolutions with dense (summed) connections; conv0 halves the resolution.
class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int in_channels, int out_channels, bool first);
  // [N, in, H, W] -> [N, out, ceil(H/2), ceil(W/2)]
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d plain0_{nullptr};  // first block: a plain 3x3 conv on the image
  SeparableConv sep0_{nullptr};        // other blocks
  SeparableConv conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
};
TORCH_MODULE(DenseBlock);

class FerCnnImpl : public torch::nn::Module {
 public:
  explicit FerCnnImpl(const FerCnnConfig& config);
  // Normalised images [N, 3, 112, 112] -> logits [N, num_classes].
  torch::Tensor forward(const torch::Tensor& x);
  const FerCnnConfig& config() const { return config_; }

 private:
  FerCnnConfig config_;
  std::vector<DenseBlock> blocks_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(FerCnn);

// Pads like TensorFlow's 'same' for a k x k kernel with this stride: the output has
// ceil(size / stride) pixels and any odd padding goes to the bottom/right.
torch::Tensor pad_same(const torch::Tensor& x, int kernel, int stride);

// Builds the network from a fer-cnn pack and copies its tensors in (F32, F16 or BF16). Throws
// CorruptFileError naming the pack when a parameter is missing, has another shape, or the pack
// holds tensors the architecture has no place for.
FerCnn load_fer_cnn(const ModelPack& pack);

}  // namespace hesp::nets

// SPDX-License-Identifier: LGPL-2.1-or-later
// OpenAI CLIP's ResNet image tower (RN50, RN101, RN50x4, RN50x16, RN50x64: "ModifiedResNet") as
// LibTorch modules, parameter names as in OpenAI's checkpoints under "visual.":
//
//   stem      conv1 (3x3, stride 2) bn1 relu, conv2 (3x3) bn2 relu, conv3 (3x3) bn3 relu, 2x2 avg
//   layer1-4  Bottleneck blocks (1x1, 3x3, 1x1, expansion 4) with anti-aliased strides: a strided
//             block average-pools after its 3x3 convolution, and its shortcut is avg-pool ->
//             1x1 conv -> BatchNorm ("downsample.0" / "downsample.1")
//   attnpool  the 7x7 (input / 32) grid flattened, its mean prepended as a query token, learned
//             positions added, one multi-head attention read at the mean token, c_proj
//
// BatchNorm layers are torch::nn::BatchNorm2d: running statistics in eval mode (inference), batch
// statistics in train mode, so the tower can be fine-tuned like the ViT one.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>

namespace hesp::clip {

struct LinearKernel;
struct VisionGeometry;

// One bottleneck: in_planes -> planes (1x1) -> planes (3x3) -> 4 * planes (1x1), plus the
// shortcut, then ReLU.
class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride);
  // [N, in_planes, H, W] -> [N, 4 * planes, H / stride, W / stride]
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
  torch::nn::Conv2d conv3{nullptr};
  torch::nn::BatchNorm2d bn3{nullptr};
  // The shortcut's 1x1 conv and BatchNorm, only when the block changes stride or width (OpenAI's
  // "downsample.0" and "downsample.1"; its average pool, "-1", holds no weights).
  torch::nn::Conv2d downsample_conv{nullptr};
  torch::nn::BatchNorm2d downsample_bn{nullptr};

 private:
  int64_t stride_;
};
TORCH_MODULE(Bottleneck);

// Attention pooling of the last feature map into one embedding.
class AttentionPool2dImpl : public torch::nn::Module {
 public:
  AttentionPool2dImpl(int64_t grid, int64_t width, int64_t heads, int64_t output_dim,
                      std::shared_ptr<const LinearKernel> kernel);
  // Features [N, width, grid, grid] (any memory format) -> [N, output_dim].
  at::Tensor forward(const at::Tensor& features);
  // Every grid position's embedding [N, grid^2, output_dim]: each position's value through the
  // output projection, as the pooled embedding mixes them (attention weights left out). What a
  // ViT's projected patch tokens are to its class token: a coarse map of where the image looks
  // like a text (HESP places its visual prompt with it).
  at::Tensor dense(const at::Tensor& features);

  at::Tensor positional_embedding;  // [grid^2 + 1, width]
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  torch::nn::Linear c_proj{nullptr};  // [output_dim, width]

 private:
  int64_t heads_;
  std::shared_ptr<const LinearKernel> kernel_;
};
TORCH_MODULE(AttentionPool2d);

class ModifiedResNetImpl : public torch::nn::Module {
 public:
  // geometry.resnet() must hold; width is the first stage's bottleneck width (64 for RN50).
  ModifiedResNetImpl(const VisionGeometry& geometry, std::shared_ptr<const LinearKernel> kernel);
  // Normalised images [N, 3, S, S] -> projected image embeddings [N, E] (not unit length).
  at::Tensor forward(const at::Tensor& images);
  // The stem's output [N, width, S / 4, S / 4] (three convolutions and the 2x2 average pool).
  at::Tensor stem(const at::Tensor& images);
  // The last stage's feature map [N, 32 x width, S / 32, S / 32], before the attention pool.
  at::Tensor features(const at::Tensor& images);

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
  torch::nn::Conv2d conv3{nullptr};
  torch::nn::BatchNorm2d bn3{nullptr};
  torch::nn::ModuleList layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  AttentionPool2d attnpool{nullptr};

 private:
  std::shared_ptr<const LinearKernel> kernel_;
};
TORCH_MODULE(ModifiedResNet);

}  // namespace hesp::clip

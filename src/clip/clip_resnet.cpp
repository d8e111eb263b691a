// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/clip_resnet.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/nn/modules/container/sequential.h>

#include <cmath>
#include <string>
#include <utility>

#include "clip/clip_model.h"

namespace hesp::clip {

namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t size, int64_t stride = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, size).stride(stride).padding(size / 2).bias(false));
}

torch::nn::BatchNorm2d batch_norm(int64_t channels) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(1e-5));
}

// ReLU in place where autograd does not need the input (inference), as in clip_model.cpp.
at::Tensor relu_for_mode(at::Tensor x) {
  return at::GradMode::is_enabled() ? at::relu(x) : at::relu_(x);
}

at::Tensor conv_bn_relu(torch::nn::Conv2d c, torch::nn::BatchNorm2d bn, const at::Tensor& x) {
  return relu_for_mode(bn->forward(c->forward(x)));
}

}  // namespace

BottleneckImpl::BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : stride_(stride) {
  conv1 = register_module("conv1", conv(in_planes, planes, 1));
  bn1 = register_module("bn1", batch_norm(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3));
  bn2 = register_module("bn2", batch_norm(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1));
  bn3 = register_module("bn3", batch_norm(planes * kExpansion));
  if (stride > 1 || in_planes != planes * kExpansion) {
    // Registered as a Sequential so the names are OpenAI's "downsample.0.*" and "downsample.1.*".
    downsample_conv = conv(in_planes, planes * kExpansion, 1);
    downsample_bn = batch_norm(planes * kExpansion);
    register_module("downsample", torch::nn::Sequential(downsample_conv, downsample_bn));
  }
}

at::Tensor BottleneckImpl::forward(const at::Tensor& x) {
  at::Tensor out = conv_bn_relu(conv1, bn1, x);
  out = conv_bn_relu(conv2, bn2, out);
  // Anti-aliased stride: the 3x3 convolution runs at full resolution, then an average pool.
  if (stride_ > 1) out = at::avg_pool2d(out, {stride_, stride_});
  out = bn3->forward(conv3->forward(out));
  at::Tensor shortcut = x;
  if (downsample_conv) {
    if (stride_ > 1) shortcut = at::avg_pool2d(shortcut, {stride_, stride_});
    shortcut = downsample_bn->forward(downsample_conv->forward(shortcut));
  }
  return at::GradMode::is_enabled() ? at::relu(out + shortcut) : at::relu_(out.add_(shortcut));
}

AttentionPool2dImpl::AttentionPool2dImpl(int64_t grid, int64_t width, int64_t heads,
                                         int64_t output_dim,
                                         std::shared_ptr<const LinearKernel> kernel)
    : heads_(heads), kernel_(std::move(kernel)) {
  positional_embedding =
      register_parameter("positional_embedding", at::zeros({grid * grid + 1, width}));
  q_proj = register_module("q_proj", torch::nn::Linear(width, width));
  k_proj = register_module("k_proj", torch::nn::Linear(width, width));
  v_proj = register_module("v_proj", torch::nn::Linear(width, width));
  c_proj = register_module("c_proj", torch::nn::Linear(width, output_dim));
}

at::Tensor AttentionPool2dImpl::forward(const at::Tensor& features) {
  const int64_t n = features.size(0), c = features.size(1);
  const int64_t hw = features.size(2) * features.size(3);
  const int64_t d = c / heads_;
  // [N, C, H, W] -> [N, HW, C]; free for channels-last features, one copy otherwise.
  const at::Tensor grid = features.permute({0, 2, 3, 1}).reshape({n, hw, c});
  const at::Tensor x =
      at::cat({grid.mean(1, /*keepdim=*/true), grid}, 1) + positional_embedding;  // [N, 1 + HW, C]
  // Only the mean token's output is kept, so only it needs a query.
  const at::Tensor q = linear(x.narrow(1, 0, 1), q_proj->weight, q_proj->bias, *kernel_)
                           .view({n, heads_, 1, d});  // [N, H, 1, D]
  const at::Tensor k = linear(x, k_proj->weight, k_proj->bias, *kernel_)
                           .view({n, hw + 1, heads_, d})
                           .permute({0, 2, 3, 1});  // [N, H, D, L]
  const at::Tensor v = linear(x, v_proj->weight, v_proj->bias, *kernel_)
                           .view({n, hw + 1, heads_, d})
                           .transpose(1, 2);  // [N, H, L, D]
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const at::Tensor weights = at::softmax(at::matmul(q * scale, k), -1);  // [N, H, 1, L]
  const at::Tensor pooled = at::matmul(weights, v).reshape({n, c});      // heads side by side
  return linear(pooled, c_proj->weight, c_proj->bias, *kernel_);         // [N, E]
}

at::Tensor AttentionPool2dImpl::dense(const at::Tensor& features) {
  const int64_t n = features.size(0), c = features.size(1);
  const int64_t hw = features.size(2) * features.size(3);
  const at::Tensor grid =
      features.permute({0, 2, 3, 1}).reshape({n, hw, c}) + positional_embedding.narrow(0, 1, hw);
  const at::Tensor v = linear(grid, v_proj->weight, v_proj->bias, *kernel_);
  return linear(v, c_proj->weight, c_proj->bias, *kernel_);  // [N, HW, E]
}

ModifiedResNetImpl::ModifiedResNetImpl(const VisionGeometry& g,
                                       std::shared_ptr<const LinearKernel> kernel)
    : kernel_(kernel) {
  const int64_t w = g.width;
  conv1 = register_module("conv1", conv(3, w / 2, 3, 2));
  bn1 = register_module("bn1", batch_norm(w / 2));
  conv2 = register_module("conv2", conv(w / 2, w / 2, 3));
  bn2 = register_module("bn2", batch_norm(w / 2));
  conv3 = register_module("conv3", conv(w / 2, w, 3));
  bn3 = register_module("bn3", batch_norm(w));
  int64_t in_planes = w;
  torch::nn::ModuleList* stages[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = w << s;
    torch::nn::ModuleList blocks;
    for (int64_t b = 0; b < g.stage_blocks[s]; ++b) {
      blocks->push_back(Bottleneck(in_planes, planes, b == 0 && s > 0 ? 2 : 1));
      in_planes = planes * BottleneckImpl::kExpansion;
    }
    *stages[s] = register_module("layer" + std::to_string(s + 1), blocks);
  }
  attnpool = register_module(
      "attnpool", AttentionPool2d(g.grid(), in_planes, g.heads, g.embed_dim, std::move(kernel)));
}

at::Tensor ModifiedResNetImpl::stem(const at::Tensor& images) {
  at::Tensor x = images;
  // oneDNN's convolutions are fastest on NHWC activations; the layout carries through every
  // convolution, BatchNorm, ReLU and pool of the tower.
  if (kernel_->channels_last && x.is_cpu()) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  x = conv_bn_relu(conv1, bn1, x);
  x = conv_bn_relu(conv2, bn2, x);
  x = conv_bn_relu(conv3, bn3, x);
  return at::avg_pool2d(x, {2, 2});
}

at::Tensor ModifiedResNetImpl::features(const at::Tensor& images) {
  at::Tensor x = stem(images);
  for (const torch::nn::ModuleList* stage : {&layer1, &layer2, &layer3, &layer4})
    for (const auto& block : **stage) x = block->as<BottleneckImpl>()->forward(x);
  return x;
}

at::Tensor ModifiedResNetImpl::forward(const at::Tensor& images) {
  return attnpool->forward(features(images));
}

}  // namespace hesp::clip

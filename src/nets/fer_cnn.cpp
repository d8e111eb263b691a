// SPDX-License-Identifier: LGPL-2.1-or-later
#include "nets/fer_cnn.h"

#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/pooling.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "torch_util/pack_parameters.h"

namespace hesp::nets {

namespace F = torch::nn::functional;

namespace {

int positive_int(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int>() <= 0)
    throw CorruptFileError(source + ": architecture field '" + key +
                           "' (positive integer) is missing");
  return j[key].get<int>();
}

}  // namespace

FerCnnConfig fer_cnn_config_from_json(const nlohmann::json& a, const std::string& source) {
  if (!a.is_object() || !a.contains("type") || a["type"] != "faceapi-dense4")
    throw CorruptFileError(source + ": architecture type is not 'faceapi-dense4'");
  FerCnnConfig c;
  if (!a.contains("block_channels") || !a["block_channels"].is_array() ||
      a["block_channels"].size() != 4)
    throw CorruptFileError(source + ": architecture 'block_channels' must list 4 widths");
  c.block_channels.clear();
  for (const auto& w : a["block_channels"]) {
    if (!w.is_number_integer() || w.get<int>() <= 0)
      throw CorruptFileError(source + ": architecture 'block_channels' holds a bad width");
    c.block_channels.push_back(w.get<int>());
  }
  c.in_channels = positive_int(a, "in_channels", source);
  c.num_classes = positive_int(a, "num_classes", source);
  c.pool_kernel = positive_int(a, "pool_kernel", source);
  c.pool_stride = positive_int(a, "pool_stride", source);
  return c;
}

torch::Tensor pad_same(const torch::Tensor& x, int kernel, int stride) {
  auto pads = [&](std::int64_t size) {
    const std::int64_t out = (size + stride - 1) / stride;
    const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + kernel - size, 0);
    return std::pair<std::int64_t, std::int64_t>(total / 2, total - total / 2);
  };
  const auto [top, bottom] = pads(x.size(2));
  const auto [left, right] = pads(x.size(3));
  if (top == 0 && bottom == 0 && left == 0 && right == 0) return x;
  return F::pad(x, F::PadFuncOptions({left, right, top, bottom}));
}

SeparableConvImpl::SeparableConvImpl(int in_channels, int out_channels, int stride)
    : stride_(stride) {
  // Stride 1 pads symmetrically, which the convolution does itself (cheaper than a pad copy);
  // stride 2 needs TensorFlow's asymmetric padding, applied in forward().
  depthwise_ = register_module(
      "depthwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, in_channels, 3)
                                         .stride(stride)
                                         .padding(stride == 1 ? 1 : 0)
                                         .groups(in_channels)
                                         .bias(false)));
  pointwise_ = register_module(
      "pointwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1)));
}

torch::Tensor SeparableConvImpl::forward(const torch::Tensor& x) {
  return pointwise_(depthwise_(stride_ == 1 ? x : pad_same(x, 3, stride_)));
}

DenseBlockImpl::DenseBlockImpl(int in_channels, int out_channels, bool first) {
  if (first) {
    plain0_ = register_module(
        "conv0", torch::nn::Conv2d(
                     torch::nn::Conv2dOptions(in_channels, out_channels, 3).stride(2).padding(0)));
  } else {
    sep0_ = register_module("conv0", SeparableConv(in_channels, out_channels, 2));
  }
  conv1_ = register_module("conv1", SeparableConv(out_channels, out_channels, 1));
  conv2_ = register_module("conv2", SeparableConv(out_channels, out_channels, 1));
  conv3_ = register_module("conv3", SeparableConv(out_channels, out_channels, 1));
}

torch::Tensor DenseBlockImpl::forward(const torch::Tensor& x) {
  const torch::Tensor o1 = torch::relu(plain0_ ? plain0_(pad_same(x, 3, 2)) : sep0_(x));
  const torch::Tensor o2 = conv1_(o1);
  const torch::Tensor s12 = o1 + o2;
  const torch::Tensor o3 = conv2_(torch::relu(s12));
  const torch::Tensor s123 = s12 + o3;
  const torch::Tensor o4 = conv3_(torch::relu(s123));
  return torch::relu(s123 + o4);
}

FerCnnImpl::FerCnnImpl(const FerCnnConfig& config) : config_(config) {
  int in = config.in_channels;
  for (std::size_t i = 0; i < config.block_channels.size(); ++i) {
    blocks_.push_back(register_module("dense" + std::to_string(i),
                                      DenseBlock(in, config.block_channels[i], i == 0)));
    in = config.block_channels[i];
  }
  fc_ = register_module("fc", torch::nn::Linear(in, config.num_classes));
}

torch::Tensor FerCnnImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (auto& block : blocks_) h = block(h);  // 112 -> 56 -> 28 -> 14 -> 7
  h = F::avg_pool2d(h, F::AvgPool2dFuncOptions(config_.pool_kernel).stride(config_.pool_stride));
  return fc_(h.flatten(1));  // [N, C, 1, 1] -> [N, C] -> [N, classes]
}

FerCnn load_fer_cnn(const ModelPack& pack) {
  const std::string source = "model pack '" + pack.path() + "'";
  FerCnn net(fer_cnn_config_from_json(pack.manifest()["architecture"], source));
  torch_util::load_pack_parameters(*net, pack, source, "fer-cnn");
  net->eval();
  return net;
}

}  // namespace hesp::nets

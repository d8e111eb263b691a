// SPDX-License-Identifier: LGPL-2.1-or-later
#include "nets/mini_xception.h"

#include <torch/nn/functional/pooling.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "torch_util/pack_parameters.h"
#include "util/shape_text.h"

namespace hesp::nets {

namespace F = torch::nn::functional;

namespace {

std::vector<int> widths(const nlohmann::json& a, const char* key, std::size_t count,
                        const std::string& source) {
  if (!a.contains(key) || !a[key].is_array() || a[key].size() != count)
    throw CorruptFileError(source + ": architecture '" + key + "' must list " +
                           std::to_string(count) + " widths");
  std::vector<int> out;
  for (const auto& w : a[key]) {
    if (!w.is_number_integer() || w.get<int>() <= 0 || w.get<int>() > 4096)
      throw CorruptFileError(source + ": architecture '" + key + "' holds a bad width");
    out.push_back(w.get<int>());
  }
  return out;
}

int positive_int(const nlohmann::json& a, const char* key, const std::string& source) {
  if (!a.contains(key) || !a[key].is_number_integer() || a[key].get<int>() <= 0 ||
      a[key].get<int>() > 4096)
    throw CorruptFileError(source + ": architecture field '" + key +
                           "' (positive integer) is missing");
  return a[key].get<int>();
}

}  // namespace

MiniXceptionOptions mini_xception_options_from_json(const nlohmann::json& a,
                                                    const std::string& source) {
  if (!a.is_object() || !a.contains("type") || a["type"] != "mini-xception")
    throw CorruptFileError(source + ": architecture type is not 'mini-xception'");
  MiniXceptionOptions o;
  o.in_channels = positive_int(a, "in_channels", source);
  o.num_classes = positive_int(a, "num_classes", source);
  o.stem_channels = widths(a, "stem_channels", 2, source);
  if (!a.contains("block_channels") || !a["block_channels"].is_array() ||
      a["block_channels"].empty() || a["block_channels"].size() > 8)
    throw CorruptFileError(source + ": architecture 'block_channels' must list 1 to 8 widths");
  o.block_channels = widths(a, "block_channels", a["block_channels"].size(), source);
  return o;
}

XceptionSeparableImpl::XceptionSeparableImpl(int in_channels, int out_channels) {
  depthwise_ = register_module(
      "depthwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, in_channels, 3)
                                         .padding(1)
                                         .groups(in_channels)
                                         .bias(false)));
  pointwise_ = register_module(
      "pointwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1)));
}

torch::Tensor XceptionSeparableImpl::forward(const torch::Tensor& x) {
  return pointwise_(depthwise_(x));
}

XceptionBlockImpl::XceptionBlockImpl(int in_channels, int out_channels) {
  // A 1x1 kernel with stride 2 needs no padding for TensorFlow's 'same': it samples the even
  // positions, ceil(H/2) of them, as PyTorch does without padding.
  shortcut_ = register_module(
      "shortcut",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1).stride(2)));
  sep1_ = register_module("sep1", XceptionSeparable(in_channels, out_channels));
  sep2_ = register_module("sep2", XceptionSeparable(out_channels, out_channels));
}

torch::Tensor XceptionBlockImpl::forward(const torch::Tensor& x) {
  // The shortcut sees the block input as it is, the separable path its ReLU (Keras's Xception
  // blocks; in the first block the input is already a ReLU output).
  torch::Tensor h = torch::relu(sep1_(torch::relu(x)));
  h = sep2_(h);
  // 3x3/2 'same' max pool on odd sizes pads one pixel on each side; padding never wins a max.
  h = F::max_pool2d(h, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  return h + shortcut_(x);
}

MiniXceptionImpl::MiniXceptionImpl(const MiniXceptionOptions& options) : options_(options) {
  int in = options.in_channels;
  for (std::size_t i = 0; i < options.stem_channels.size(); ++i) {
    stem_.push_back(register_module(
        "stem" + std::to_string(i),
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(in, options.stem_channels[i], 3).stride(i == 0 ? 2 : 1))));
    in = options.stem_channels[i];
  }
  for (std::size_t i = 0; i < options.block_channels.size(); ++i) {
    blocks_.push_back(
        register_module("block" + std::to_string(i), XceptionBlock(in, options.block_channels[i])));
    in = options.block_channels[i];
  }
  head_ = register_module(
      "head", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, options.num_classes, 3).padding(1)));
}

torch::Tensor MiniXceptionImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (auto& conv : stem_) h = torch::relu(conv(h));  // 64 -> 31 -> 29
  for (auto& block : blocks_) h = block(h);           // 29 -> 15 -> 8
  return head_(h).mean({2, 3});                       // [N, classes, 8, 8] -> [N, classes]
}

MiniXception load_mini_xception(const ModelPack& pack) {
  const std::string source = "model pack '" + pack.path() + "'";
  MiniXception net(mini_xception_options_from_json(pack.manifest()["architecture"], source));
  torch_util::load_pack_parameters(*net, pack, source, "mini-xception");
  net->eval();
  return net;
}

}  // namespace hesp::nets

// SPDX-License-Identifier: LGPL-2.1-or-later
// mini-xception packs: oarriaga's FER2013 mini-Xception (nets/mini_xception.h) run on every frame
// of a clip, on grey crops; the clip's logits are the mean of its frames' logits.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "models/frame_cnn_forward.h"
#include "models/pack_kinds.h"
#include "models/pack_support.h"
#include "nets/mini_xception.h"
#include "torch_util/torch_device.h"

namespace hesp {

namespace {

constexpr std::int64_t kMaxFramesPerForward = 64;

double number(const nlohmann::json& input, const char* key, const std::string& path) {
  if (!input.contains(key) || !input[key].is_number())
    throw CorruptFileError(
        models::pack_error(path, std::string("manifest 'input.") + key + "' (number) is missing"));
  return input[key].get<double>();
}

class MiniXceptionModel final : public ExpressionModel {
 public:
  MiniXceptionModel(const ModelPack& pack, const ModelOptions& options)
      : ExpressionModel(pack, options),
        torch_device_(torch_util::torch_device(options.device)),
        net_(nets::load_mini_xception(pack)) {
    const auto& input = pack.manifest()["input"];
    if (static_cast<int>(class_names_.size()) != net_->options().num_classes)
      throw CorruptFileError(models::pack_error(
          path_, std::to_string(class_names_.size()) + " class names for a network with " +
                     std::to_string(net_->options().num_classes) + " outputs"));
    if (net_->options().in_channels != 1 || input.value("color", "") != "grey")
      throw CorruptFileError(
          models::pack_error(path_,
                             "mini-xception packs take grey input (input.color \"grey\", "
                             "architecture in_channels 1)"));
    const auto& w = input.contains("grey_weights") ? input["grey_weights"] : nlohmann::json();
    if (!w.is_array() || w.size() != 3 || !w[0].is_number() || !w[1].is_number() ||
        !w[2].is_number())
      throw CorruptFileError(
          models::pack_error(path_, "manifest 'input.grey_weights' must hold 3 numbers (R, G, B)"));
    grey_ =
        torch::tensor({w[0].get<double>(), w[1].get<double>(), w[2].get<double>()}, torch::kFloat32)
            .to(torch_device_);
    scale_ = number(input, "scale", path_);
    offset_ = number(input, "offset", path_);
    net_->to(torch_device_);
    if (options.threads > 0) at::set_num_threads(options.threads);
  }

  int frame_width() const override { return static_cast<int>(class_names_.size()); }

  std::vector<float> frame_features(const std::vector<ClipView>& clips) override {
    return models::frame_cnn_forward(
        clips, input_size_, kMaxFramesPerForward, torch_device_, [&](const torch::Tensor& bytes) {
          const torch::Tensor rgb = bytes.to(torch::kFloat32);
          // Weighted sum of R, G, B (0-255), then the affine map to the range the net was trained
          // on.
          const torch::Tensor grey = torch::matmul(rgb, grey_) * scale_ + offset_;  // [n, s, s]
          return net_->forward(grey.unsqueeze(1));
        });
  }

  bool pools_frame_logits() const override { return true; }

  std::vector<std::vector<double>> clip_logits(const std::vector<FrameRows>& clips) override {
    std::vector<std::vector<double>> out;
    out.reserve(clips.size());
    for (const FrameRows& c : clips) out.push_back(pool_frame_logits(c));
    return out;
  }

 private:
  torch::Device torch_device_;
  nets::MiniXception net_;
  torch::Tensor grey_;
  double scale_ = 1.0;
  double offset_ = 0.0;
};

}  // namespace

namespace models {
HESP_DEFINE_PACK_LOADER(load_mini_xception_pack, MiniXceptionModel)
}  // namespace models

}  // namespace hesp

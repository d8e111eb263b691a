// SPDX-License-Identifier: LGPL-2.1-or-later
// fer-cnn packs: a frame CNN (face-api.js's expression network, nets/fer_cnn.h) run on every frame
// of a clip; the clip's logits pool its frames' logits (ModelOptions::pooling).
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "models/frame_cnn_forward.h"
#include "models/open_set.h"
#include "models/pack_kinds.h"
#include "nets/fer_cnn.h"
#include "torch_util/torch_device.h"

namespace hesp {

namespace {

// Frames per forward pass. Bounds peak memory, and keeps the largest activation (32 x 56 x 56
// floats per frame, 12.8 MB for 32 frames) under glibc's 32 MB mmap ceiling, so that with a raised
// mmap threshold (docs/models.md) the buffers are reused instead of mapped and zeroed every pass.
constexpr std::int64_t kMaxFramesPerForward = 32;

std::vector<double> read_vec3(const nlohmann::json& input, const char* key, double fallback,
                              const std::string& path) {
  if (!input.contains(key)) return {fallback, fallback, fallback};
  const auto& v = input[key];
  if (!v.is_array() || v.size() != 3)
    throw CorruptFileError("model pack '" + path + "': manifest 'input." + key +
                           "' must hold 3 numbers (R, G, B)");
  std::vector<double> out;
  for (const auto& x : v) {
    if (!x.is_number())
      throw CorruptFileError("model pack '" + path + "': bad 'input." + key + "'");
    out.push_back(x.get<double>());
  }
  return out;
}

class FerCnnModel final : public ExpressionModel {
 public:
  FerCnnModel(const ModelPack& pack, const ModelOptions& options)
      : ExpressionModel(pack, options),
        torch_device_(torch_util::torch_device(options.device)),
        net_(nets::load_fer_cnn(pack)) {
    const auto& m = pack.manifest();
    if (static_cast<int>(class_names_.size()) != net_->config().num_classes)
      throw CorruptFileError("model pack '" + path_ + "': " + std::to_string(class_names_.size()) +
                             " class names for a network with " +
                             std::to_string(net_->config().num_classes) + " outputs");
    const auto mean = read_vec3(m["input"], "mean", 0.0, path_);
    const auto stdev = read_vec3(m["input"], "std", 1.0, path_);
    for (double s : stdev)
      if (!(s > 0.0))
        throw CorruptFileError("model pack '" + path_ + "': 'input.std' must be positive");
    auto as_tensor = [&](const std::vector<double>& v) {
      return torch::tensor({v[0], v[1], v[2]}, torch::kFloat32)
          .view({1, 3, 1, 1})
          .to(torch_device_);
    };
    mean_ = as_tensor(mean);
    inv_std_ = 1.0 / as_tensor(stdev);
    // Channels-last convolution weights and inputs let oneDNN skip its layout conversions around
    // every convolution: measured 1.7x faster on batches of 64 frames (docs/models.md).
    {
      torch::NoGradGuard no_grad;
      for (auto& p : net_->parameters())
        if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
    net_->to(torch_device_);
    if (options.threads > 0) at::set_num_threads(options.threads);
  }

  // Per-frame logits, pooled per clip by the base class's frame pooling.
  int frame_width() const override { return static_cast<int>(class_names_.size()); }

  std::vector<float> frame_features(const std::vector<ClipView>& clips) override {
    return models::frame_cnn_forward(
        clips, input_size_, kMaxFramesPerForward, torch_device_, [&](const torch::Tensor& bytes) {
          // NHWC bytes viewed as NCHW are already channels-last; keep them that way.
          const torch::Tensor x =
              ((bytes.permute({0, 3, 1, 2}).to(torch::kFloat32) - mean_) * inv_std_)
                  .contiguous(at::MemoryFormat::ChannelsLast);
          return net_->forward(x);
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
  nets::FerCnn net_;
  torch::Tensor mean_;
  torch::Tensor inv_std_;
};

}  // namespace

namespace models {
HESP_DEFINE_PACK_LOADER(load_fer_cnn_pack, FerCnnModel)
}  // namespace models

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp` model packs: a frozen CLIP plus the prompts HESP learned (docs/hesp.md). The CLIP weights
// are stored as "clip.<OpenAI name>", so the pack also loads wherever a CLIP backbone is expected;
// the learned tensors are "hesp.*". A clip's logits are the HESP ensemble
// (logit_scale cos(v, t_k) + |v - c_k|^2 / E - v . c_k) / 2.
#pragma once

#include <ATen/Tensor.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "clip/clip_checkpoint.h"
#include "hesp/expression_model.h"
#include "nets/hesp_network.h"

namespace hesp {

class ModelPack;

inline constexpr const char* kHespKind = "hesp";

// Names of the learned tensors inside a hesp pack.
inline constexpr const char* kHespTextFeatures = "hesp.text_features";        // F32 [K, E]
inline constexpr const char* kHespTextContext = "hesp.text_context";          // F32 [K, n, Wt]
inline constexpr const char* kHespNegativeCenters = "hesp.negative_centers";  // F32 [K, E]
inline constexpr const char* kHespVisualPrompt = "hesp.visual_prompt";        // F32 [3, p, p]
inline constexpr const char* kHespTemporalQuery = "hesp.temporal_query";      // F32 [E]
inline constexpr const char* kHespTemporalGain = "hesp.temporal_gain";        // F32 []
inline constexpr const char* kHespRadius = "hesp.radius";                     // F32 []

namespace models {

// Everything a hesp pack holds. Tensors may live on any device; they are written as F32.
struct HespPackContents {
  std::string path;
  std::string name;
  clip::TensorMap clip_tensors;  // OpenAI names; floating tensors are kept in their dtypes
  nets::HespVariant variant = nets::HespVariant::kPaper;
  std::vector<std::string> class_names;   // label order
  std::vector<std::string> prompt_names;  // the name each label's prompt carried
  int input_size = 0;
  int frames_per_clip = 8;
  double face_margin = 0.1;
  at::Tensor text_features, text_context, negative_centers, visual_prompt, temporal_query,
      temporal_gain, radius;
  nets::PromptLocation location;
  double unknown_threshold = 0.0;
  // The kernel precision the threshold was calibrated with ("fp32" or "bf16"; manifest
  // open_set.precision, which ModelOptions::precision "auto" runs).
  std::string precision = "fp32";
  nlohmann::json calibration;  // how the threshold was set
  nlohmann::json training;     // provenance: options, data, report
};

// Writes the pack (manifest checked by write_pack). Throws SettingsError for inconsistent
// contents, Error when the file cannot be written.
void write_hesp_pack(const HespPackContents& contents);

}  // namespace models

class HespModel final : public ExpressionModel {
 public:
  // Throws CorruptFileError when tensors or manifest do not fit together, SettingsError for an
  // unusable device.
  HespModel(const ModelPack& pack, const ModelOptions& options);
  ~HespModel() override;

  nets::HespVariant variant() const { return variant_; }
  const nets::PromptLocation& prompt_location() const { return location_; }

 private:
  // Frames are image embeddings of the prompted crops (the visual prompt is fixed at inference,
  // so they cache like plain CLIP frames); a clip's logits pool them as the variant says.
  int frame_width() const override;
  std::vector<float> frame_features(const std::vector<ClipView>& frames) override;
  std::vector<std::vector<double>> clip_logits(const std::vector<FrameRows>& clips) override;

  struct State;
  std::unique_ptr<State> state_;
  nets::HespVariant variant_ = nets::HespVariant::kPaper;
  nets::PromptLocation location_;
};

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/hesp_model.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>

#include "clip/clip_from_pack.h"
#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "models/clip_frames.h"
#include "models/clip_pack_parts.h"
#include "models/open_set.h"
#include "models/pack_kinds.h"
#include "models/pack_support.h"
#include "models/precision.h"
#include "torch_util/pack_tensor.h"
#include "torch_util/torch_device.h"

namespace hesp {

namespace {

// CLIP's published input normalisation in 0-255 units, as manifests state it.

// Frames per encoder pass at inference: bounds memory whatever the number of clips.
constexpr std::int64_t kMaxFramesPerForward = 32;

// A learned tensor of the pack as fp32, checked against the expected shape.
at::Tensor read_f32(const ModelPack& pack, const char* name,
                    const std::vector<std::int64_t>& shape) {
  return torch_util::copy_pack_tensor(models::f32_tensor(pack, name, shape), at::kFloat);
}

}  // namespace

namespace models {

void write_hesp_pack(const HespPackContents& c) {
  const auto k = static_cast<std::int64_t>(c.class_names.size());
  if (k < 1 || c.prompt_names.size() != c.class_names.size())
    throw SettingsError("a hesp pack needs one prompt name per class");
  std::vector<at::Tensor> keep;
  std::vector<TensorInfo> tensors;
  auto add = [&](const std::string& name, const at::Tensor& tensor, DType dtype) {
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    TensorInfo info;
    info.name = name;
    info.dtype = dtype;
    info.shape.assign(t.sizes().begin(), t.sizes().end());
    info.data = t.data_ptr();
    info.nbytes = t.nbytes();
    tensors.push_back(std::move(info));
    keep.push_back(std::move(t));
  };
  for (const auto& [name, tensor] : c.clip_tensors) {
    // OpenAI's files restate the geometry as integer scalars, which the shapes already say.
    if (!at::isFloatingType(tensor.scalar_type())) continue;
    add(std::string(clip::kPackWeightPrefix) + name, tensor,
        models::clip_weight_dtype(tensor.scalar_type(), name, c.path));
  }
  const auto f32 = [&](const char* name, const at::Tensor& t) {
    add(name, t.to(at::kFloat), DType::kF32);
  };
  f32(kHespTextFeatures, c.text_features);
  f32(kHespTextContext, c.text_context);
  f32(kHespNegativeCenters, c.negative_centers);
  f32(kHespVisualPrompt, c.visual_prompt);
  f32(kHespTemporalQuery, c.temporal_query);
  f32(kHespTemporalGain, c.temporal_gain);
  f32(kHespRadius, c.radius);

  const clip::ModelGeometry g = clip::infer_geometry(c.clip_tensors, c.path);
  // The CLIP geometry plus HESP's learned text context.
  nlohmann::json hesp_architecture = models::clip_architecture_manifest(g);
  hesp_architecture["type"] = hesp_architecture["type"].get<std::string>() + " + hesp prompts";
  hesp_architecture["context_tokens"] = c.text_context.size(1);
  const nlohmann::json manifest = {
      {"format_version", kModelPackFormatVersion},
      {"kind", kHespKind},
      {"name", c.name},
      {"classes", c.class_names},
      {"architecture", hesp_architecture},
      {"variant", nets::hesp_variant_name(c.variant)},
      {"prompt_class_names", c.prompt_names},
      {"input", models::clip_input_manifest(c.input_size, c.face_margin)},
      {"frames_per_clip", c.frames_per_clip},
      {"clip_pooling",
       c.variant == nets::HespVariant::kPaper ? "temporal_attention" : "mean_embedding"},
      {"visual_prompt",
       {{"x", c.location.x},
        {"y", c.location.y},
        {"side", c.location.side},
        {"space", "added to RGB in [0, 1] before CLIP normalisation"}}},
      {"logits", c.variant == nets::HespVariant::kCoop
                     ? "clip: logit_scale cos(v, t_k)"
                     : "ensemble: (logit_scale cos(v, t_k) + |v - c_k|^2 / E - v . c_k) / 2"},
      {"open_set",
       {{"score", nets::variant_score_rule(c.variant)},
        {"unknown_threshold", c.unknown_threshold},
        {"precision", c.precision},
        {"calibration", c.calibration}}},
      {"provenance", c.training},
  };
  write_pack(c.path, manifest, tensors);
}

}  // namespace models

struct HespModel::State {
  c10::Device device{c10::kCPU};
  clip::ClipModel clip{nullptr};
  at::Tensor text_features, centers, visual_prompt, query, gain, scale;
};

HespModel::HespModel(const ModelPack& pack, const ModelOptions& options)
    : ExpressionModel(pack, options), state_(std::make_unique<State>()) {
  const auto& m = pack.manifest();
  try {
    const auto& vp = m.at("visual_prompt");
    location_ = {vp.at("x").get<std::int64_t>(), vp.at("y").get<std::int64_t>(),
                 vp.at("side").get<std::int64_t>()};
    variant_ = nets::parse_hesp_variant(m.at("variant").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw CorruptFileError(
        models::pack_error(path_, std::string("bad hesp manifest: ") + e.what()));
  } catch (const SettingsError& e) {
    throw CorruptFileError(models::pack_error(path_, e.what()));
  }

  // Packs that record no precision were calibrated through plain at::linear and keep running it,
  // so that their thresholds stay exactly valid.
  const models::TowerKernel kernel =
      models::choose_kernel(options.precision, models::recorded_precision(pack),
                            models::kReferencePrecision, models::kernel_host(options.device));

  State& s = *state_;
  s.device = torch_util::torch_device(options.device);
  if (options.threads > 0) at::set_num_threads(options.threads);
  s.clip = clip::build_model(clip::read_pack_clip_tensors(path_), path_);
  const auto& g = s.clip->geometry();
  if (input_size_ != g.vision.image_size)
    throw CorruptFileError(models::pack_error(
        path_, "'input.size' is " + std::to_string(input_size_) + " but the CLIP weights take " +
                   std::to_string(g.vision.image_size) + " px"));
  const std::int64_t k = static_cast<std::int64_t>(class_names_.size()), e = g.vision.embed_dim;
  const std::int64_t side = nets::visual_prompt_side(g.vision.image_size);
  if (location_.side != side || location_.x < 0 || location_.y < 0 ||
      location_.x + side > input_size_ || location_.y + side > input_size_)
    throw CorruptFileError(
        models::pack_error(path_, "the visual prompt's window does not fit the input"));
  s.text_features = read_f32(pack, kHespTextFeatures, {k, e});
  s.centers = read_f32(pack, kHespNegativeCenters, {k, e});
  s.visual_prompt = read_f32(pack, kHespVisualPrompt, {3, side, side});
  s.query = read_f32(pack, kHespTemporalQuery, {e});
  s.gain = read_f32(pack, kHespTemporalGain, {});
  s.clip->to(s.device);
  s.clip->set_kernel(clip::inference_kernel(
      kernel.onednn, kernel.bf16));  // after the move: bf16 copies are made of the moved weights
  precision_ = kernel.precision;
  for (at::Tensor* t : {&s.text_features, &s.centers, &s.visual_prompt, &s.query, &s.gain})
    *t = t->to(s.device);
  s.scale = s.clip->logit_scale.exp();
}

HespModel::~HespModel() = default;

int HespModel::frame_width() const { return static_cast<int>(state_->text_features.size(1)); }

std::vector<float> HespModel::frame_features(const std::vector<ClipView>& clips) {
  State& s = *state_;
  const int size = input_size_;
  models::PackedFrames packed = models::pack_clip_frames(clips, size);
  const std::int64_t total = packed.count;
  std::vector<std::uint8_t>& pixels = packed.rgb;

  c10::InferenceMode guard;
  const at::Tensor bytes = at::from_blob(pixels.data(), {total, size, size, 3}, at::kByte);
  std::vector<at::Tensor> parts;
  for (std::int64_t begin = 0; begin < total; begin += kMaxFramesPerForward) {
    const std::int64_t end = std::min(total, begin + kMaxFramesPerForward);
    const at::Tensor x =
        bytes.slice(0, begin, end).to(s.device).permute({0, 3, 1, 2}).to(at::kFloat) / 255.0;
    parts.push_back(nets::hesp_encode_frames(*s.clip, x, s.visual_prompt, location_));
  }
  const at::Tensor frames = at::cat(parts).to(at::kCPU, at::kFloat).contiguous();  // [total, E]
  const float* f = frames.data_ptr<float>();
  return std::vector<float>(f, f + frames.numel());
}

std::vector<std::vector<double>> HespModel::clip_logits(const std::vector<FrameRows>& clips) {
  State& s = *state_;
  const std::int64_t e = frame_width();
  c10::InferenceMode guard;
  std::vector<std::vector<double>> out;
  out.reserve(clips.size());
  for (const FrameRows& c : clips) {
    const at::Tensor f =
        at::from_blob(const_cast<float*>(c.rows), {1, c.count, e}, at::kFloat).to(s.device);
    const at::Tensor v = nets::pool_frames(f, variant_, s.query, s.gain);
    const at::Tensor l = nets::variant_logits(v, s.text_features, s.centers, s.scale, variant_)[0]
                             .to(at::kCPU, at::kDouble)
                             .contiguous();
    out.emplace_back(l.data_ptr<double>(), l.data_ptr<double>() + l.numel());
  }
  return out;
}

namespace models {
HESP_DEFINE_PACK_LOADER(load_hesp_pack, HespModel)
}  // namespace models

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/emoclip_model.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "clip/clip_from_pack.h"
#include "clip/clip_init.h"
#include "clip/clip_model.h"
#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "models/clip_frames.h"
#include "models/clip_pack_parts.h"
#include "models/clip_zeroshot_model.h"
#include "models/open_set.h"
#include "models/pack_kinds.h"
#include "models/pack_support.h"
#include "nets/temporal_transformer.h"

namespace hesp {

namespace {

TensorInfo info_for(const std::string& name, const at::Tensor& t) {
  TensorInfo info;
  info.name = name;
  info.dtype = DType::kF32;
  info.shape.assign(t.sizes().begin(), t.sizes().end());
  info.data = t.data_ptr();
  info.nbytes = t.nbytes();
  return info;
}

}  // namespace

namespace models {

void write_trained_clip_pack(const std::string& path, const EmoClipPackContents& c) {
  if (!c.clip) throw SettingsError("cannot write emoclip pack '" + path + "': CLIP model missing");
  const clip::ModelGeometry& g = c.clip->geometry();
  // Without a temporal model the clip embedding is the mean of the frame embeddings, which is
  // what a clip-zeroshot pack computes: write that kind, so the pack needs no new reader.
  const bool temporal = c.temporal != nullptr;
  nets::TemporalGeometry tg;
  if (temporal)
    tg = c.temporal->geometry();
  else
    tg.width = g.vision.embed_dim;
  const std::size_t k = c.class_names.size();
  if (k == 0 || c.class_prompts.size() != k ||
      c.class_embeddings.size() != k * static_cast<std::size_t>(g.vision.embed_dim))
    throw SettingsError("cannot write emoclip pack '" + path + "': " + std::to_string(k) +
                        " classes, " + std::to_string(c.class_prompts.size()) +
                        " prompt lists and " + std::to_string(c.class_embeddings.size()) +
                        " embedding values (expected classes x " +
                        std::to_string(g.vision.embed_dim) + ")");
  if (tg.width != g.vision.embed_dim)
    throw SettingsError("cannot write emoclip pack '" + path + "': temporal width " +
                        std::to_string(tg.width) + " is not CLIP's embedding size " +
                        std::to_string(g.vision.embed_dim));
  if (c.templates.empty())
    throw SettingsError("cannot write emoclip pack '" + path + "': no class-name template");
  for (const std::string& t : c.templates)
    if (t.find("{}") == std::string::npos)
      throw SettingsError("template '" + t + "' has no {} where the class name goes");
  if (c.vocab.empty())
    throw SettingsError("cannot write emoclip pack '" + path + "': no vocabulary bytes");

  // Tensors stay alive in `keep` until write_pack has copied them out.
  std::vector<at::Tensor> keep;
  std::vector<TensorInfo> tensors;
  for (const auto& [name, tensor] : clip::openai_tensors(*c.clip)) {
    keep.push_back(tensor.to(at::kFloat).contiguous());
    tensors.push_back(info_for(std::string(clip::kPackWeightPrefix) + name, keep.back()));
  }
  if (temporal) {
    for (const auto& item : c.temporal->named_parameters()) {
      keep.push_back(item.value().detach().to(at::kCPU, at::kFloat).contiguous());
      tensors.push_back(info_for(kEmoClipTemporalPrefix + item.key(), keep.back()));
    }
    keep.push_back(at::full({}, c.log_logit_scale, at::kFloat));
    tensors.push_back(info_for(kEmoClipLogitScaleTensor, keep.back()));
  } else {
    // A clip-zeroshot pack takes its scale from CLIP's own parameter.
    for (TensorInfo& info : tensors)
      if (info.name == std::string(clip::kPackWeightPrefix) + "logit_scale") {
        keep.push_back(at::full({}, c.log_logit_scale, at::kFloat));
        info = info_for(info.name, keep.back());
      }
  }
  TensorInfo emb;
  emb.name = kClassEmbeddingsTensor;
  emb.shape = {static_cast<std::int64_t>(k), g.vision.embed_dim};
  emb.data = c.class_embeddings.data();
  emb.nbytes = c.class_embeddings.size() * sizeof(float);
  tensors.push_back(emb);
  TensorInfo voc;
  voc.name = kVocabTensor;
  voc.dtype = DType::kU8;
  voc.shape = {static_cast<std::int64_t>(c.vocab.size())};
  voc.data = c.vocab.data();
  voc.nbytes = c.vocab.size();
  tensors.push_back(voc);

  const double scale = std::min(std::exp(c.log_logit_scale), nets::kMaxLogitScale);
  nlohmann::json prompts = nlohmann::json::object();
  for (std::size_t i = 0; i < k; ++i) prompts[c.class_names[i]] = c.class_prompts[i];
  const std::string name = c.name.empty() ? std::filesystem::path(path).stem().string() : c.name;
  nlohmann::json manifest = {
      {"format_version", kModelPackFormatVersion},
      {"kind", temporal ? kEmoClipKind : kClipZeroShotKind},
      {"name", name},
      {"classes", c.class_names},
      {"architecture", temporal ? nlohmann::json{{"type", "emoclip"},
                                                 {"clip", models::clip_architecture_manifest(g)},
                                                 {"temporal",
                                                  {{"width", tg.width},
                                                   {"frames", tg.frames},
                                                   {"layers", tg.layers},
                                                   {"heads", tg.heads},
                                                   {"pooling", "class_token"}}}}
                                : models::clip_architecture_manifest(g)},
      {"input", models::clip_input_manifest(g.vision.image_size, c.face_margin)},
      {"frames_per_clip", temporal ? tg.frames : c.frames_per_clip},
      {"clip_pooling", temporal ? "temporal_transformer" : "mean_embedding"},
      {"text",
       {{"templates", c.templates},
        {"prompts", prompts},
        {"source", "class-descriptions"},
        {"logit_scale", scale}}},
      {"open_set",
       {{"score", "max_logit"},
        {"unknown_threshold", c.unknown_cosine * scale},
        {"precision", c.precision},
        {"calibration",
         {{"method", "cosine rule of thumb, not calibrated on expression data"},
          {"unknown_cosine", c.unknown_cosine},
          {"logit_scale", scale}}}}},
      {"provenance", c.provenance ? *c.provenance : nlohmann::json::object()},
  };
  if (c.training) manifest["training"] = *c.training;
  write_pack(path, manifest, tensors);
}

}  // namespace models

// The temporal transformer and where it runs. Always the CPU: it sees a few frame embeddings per
// clip, far less work than moving them to a GPU and back would save.
struct EmoClipModel::Temporal {
  nets::TemporalTransformer net{nullptr};
};

EmoClipModel::EmoClipModel(const ModelPack& pack, const ModelOptions& options)
    : EmbeddingClassifier(pack, options, /*templates_required=*/false),
      temporal_(std::make_unique<Temporal>()) {
  nets::TemporalGeometry tg;
  try {
    const auto& a = pack.manifest().at("architecture").at("temporal");
    tg.width = a.at("width").get<int64_t>();
    tg.frames = a.at("frames").get<int64_t>();
    tg.layers = a.at("layers").get<int64_t>();
    tg.heads = a.at("heads").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw CorruptFileError(
        models::pack_error(path_, std::string("bad emoclip manifest: ") + e.what()));
  }
  if (tg.frames != frames_per_clip_)
    throw CorruptFileError(
        models::pack_error(path_, "'frames_per_clip' is " + std::to_string(frames_per_clip_) +
                                      " but the temporal transformer has " +
                                      std::to_string(tg.frames) + " frame positions"));
  if (tg.width != encoder_->embed_dim())
    throw CorruptFileError(models::pack_error(
        path_, "the temporal transformer is " + std::to_string(tg.width) +
                   " wide but CLIP embeds into " + std::to_string(encoder_->embed_dim())));

  // The temporal weights: every parameter the module has must be in the pack with its shape,
  // and the pack must hold no temporal tensor the module has no place for.
  try {
    temporal_->net = nets::TemporalTransformer(tg);
  } catch (const SettingsError& e) {
    throw CorruptFileError(models::pack_error(path_, e.what()));
  }
  temporal_->net->eval();
  std::set<std::string> used;
  {
    at::NoGradGuard no_grad;
    for (auto& item : temporal_->net->named_parameters()) {
      const std::string name = kEmoClipTemporalPrefix + item.key();
      at::Tensor& p = item.value();
      const TensorInfo& t = models::f32_tensor(
          pack, name, std::vector<std::int64_t>(p.sizes().begin(), p.sizes().end()));
      std::memcpy(p.data_ptr(), t.data, t.nbytes);
      p.set_requires_grad(false);
      used.insert(name);
    }
  }
  for (const TensorInfo& t : pack.tensors())
    if (t.name.rfind(kEmoClipTemporalPrefix, 0) == 0 && !used.count(t.name))
      throw CorruptFileError(models::pack_error(
          path_, "tensor '" + t.name + "' has no place in the temporal transformer"));

  const TensorInfo& scale = pack.tensor(kEmoClipLogitScaleTensor);
  if (scale.dtype != DType::kF32 || scale.numel() != 1)
    throw CorruptFileError(models::pack_error(
        path_, std::string("'") + kEmoClipLogitScaleTensor + "' must be one F32 value"));
  float log_scale = 0.f;
  std::memcpy(&log_scale, scale.data, sizeof log_scale);
  logit_scale_ = std::min(std::exp(static_cast<double>(log_scale)), nets::kMaxLogitScale);
}

EmoClipModel::~EmoClipModel() = default;

std::vector<int> EmoClipModel::frames_used(int n_frames) const {
  if (n_frames > frames_per_clip_) return models::centre_frames(n_frames, frames_per_clip_);
  return ExpressionModel::frames_used(n_frames);
}

std::vector<float> EmoClipModel::video_embeddings(const std::vector<ClipView>& clips) {
  models::count_clip_frames(clips);  // names an empty clip
  std::vector<ClipView> frames;
  std::vector<int> counts;
  for (const ClipView& c : clips) {
    const std::size_t frame_bytes = static_cast<std::size_t>(c.crop_size) * c.crop_size * 3;
    const std::vector<int> used = frames_used(c.n_frames);
    for (int f : used) frames.push_back(ClipView{c.rgb + f * frame_bytes, 1, c.crop_size});
    counts.push_back(static_cast<int>(used.size()));
  }
  const std::vector<float> rows = frame_features(frames);
  const int d = encoder_->embed_dim();
  std::vector<FrameRows> blocks;
  std::size_t at = 0;
  for (int n : counts) {
    blocks.push_back(FrameRows{rows.data() + at * d, n});
    at += n;
  }
  const std::vector<double> v = pool_embeddings(blocks);
  return std::vector<float>(v.begin(), v.end());
}

std::vector<double> EmoClipModel::pool_embeddings(const std::vector<FrameRows>& clips) {
  const int d = encoder_->embed_dim();
  std::vector<double> out;
  out.reserve(clips.size() * d);
  // One clip at a time through the temporal model, so a clip's embedding does not depend on
  // which clips share its call.
  c10::InferenceMode guard;
  for (const FrameRows& c : clips) {
    const at::Tensor x = at::from_blob(const_cast<float*>(c.rows), {1, c.count, d}, at::kFloat);
    at::Tensor v = temporal_->net->forward(x).squeeze(0);
    v = v / v.norm().clamp_min(1e-12);
    const at::Tensor v64 = v.to(at::kDouble).contiguous();
    const double* p = v64.data_ptr<double>();
    out.insert(out.end(), p, p + d);
  }
  return out;
}

namespace models {
HESP_DEFINE_PACK_LOADER(load_emoclip_pack, EmoClipModel)
}  // namespace models

}  // namespace hesp

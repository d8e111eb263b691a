// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/embedding_classifier.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "models/clip_frames.h"
#include "models/open_set.h"
#include "models/pack_support.h"
#include "models/precision.h"

namespace hesp {

namespace models {

std::vector<std::string> prompts_for(const std::string& name,
                                     const std::vector<std::string>& templates) {
  std::vector<std::string> out;
  for (const std::string& t : templates) {
    std::string p = t;
    for (std::size_t at = p.find("{}"); at != std::string::npos;
         at = p.find("{}", at + name.size()))
      p.replace(at, 2, name);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<float> class_embedding(const ClipEncoder& encoder, const Tokenizer& tokenizer,
                                   const std::vector<std::string>& prompts) {
  if (prompts.empty()) throw SettingsError("a class needs at least one prompt");
  Embeddings e = encoder.encode_text(tokenizer.tokenize(prompts, encoder.context_length()));
  e.normalize();
  std::vector<double> mean(e.dim, 0.0);
  for (int i = 0; i < e.count; ++i)
    for (int k = 0; k < e.dim; ++k) mean[k] += e.row(i)[k];
  double norm = 0.0;
  for (double v : mean) norm += v * v;
  norm = std::sqrt(norm);
  std::vector<float> out(e.dim, 0.f);
  if (norm > 0.0)
    for (int k = 0; k < e.dim; ++k) out[k] = static_cast<float>(mean[k] / norm);
  return out;
}

std::vector<int> centre_frames(int n, int t) {
  std::vector<int> out(t);
  for (int i = 0; i < t; ++i) out[i] = static_cast<int>(std::floor((i + 0.5) * n / t));
  return out;
}

}  // namespace models

EmbeddingClassifier::EmbeddingClassifier(const ModelPack& pack, const ModelOptions& options,
                                         bool templates_required)
    : ExpressionModel(pack, options) {
  try {
    for (const auto& t : pack.manifest().at("text").at("templates"))
      templates_.push_back(t.get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw CorruptFileError(
        models::pack_error(path_, "bad " + kind_ + " manifest: " + std::string(e.what())));
  }
  if (templates_required && templates_.empty())
    throw CorruptFileError(models::pack_error(path_, "'text.templates' is empty"));
  for (const std::string& t : templates_)
    if (t.find("{}") == std::string::npos)
      throw CorruptFileError(
          models::pack_error(path_, "template '" + t + "' has no {} for the class name"));

  // Packs that record no precision ran ClipEncoder's default, oneDNN fp32, and keep running it.
  const models::TowerKernel kernel =
      models::choose_kernel(options.precision, models::recorded_precision(pack), "fp32",
                            models::kernel_host(options.device));
  ClipOptions clip_options;
  clip_options.device = options.device;
  clip_options.threads = options.threads;
  clip_options.precision = kernel.bf16 ? ClipPrecision::kBFloat16 : ClipPrecision::kFloat32;
  clip_options.use_onednn = kernel.onednn;
  encoder_ = ClipEncoder::load(path_, clip_options);
  precision_ = kernel.precision;
  logit_scale_ = encoder_->logit_scale();
  if (input_size_ != encoder_->input_size())
    throw CorruptFileError(models::pack_error(
        path_, "'input.size' is " + std::to_string(input_size_) + " but the CLIP weights take " +
                   std::to_string(encoder_->input_size()) + " px"));

  const TensorInfo& emb =
      models::f32_tensor(pack, kClassEmbeddingsTensor,
                         {static_cast<std::int64_t>(class_names_.size()), encoder_->embed_dim()},
                         " (one embedding per class)");
  class_embeddings_.resize(emb.numel());
  std::memcpy(class_embeddings_.data(), emb.data, emb.nbytes);

  const TensorInfo& vocab = pack.tensor(kVocabTensor);
  if (vocab.dtype != DType::kU8 || vocab.shape.size() != 1)
    throw CorruptFileError(models::pack_error(
        path_,
        std::string("'") + kVocabTensor + "' must be a 1-D U8 tensor (the vocabulary file)"));
  const auto* bytes = static_cast<const unsigned char*>(vocab.data);
  vocab_.assign(bytes, bytes + vocab.nbytes);
}

EmbeddingClassifier::~EmbeddingClassifier() = default;

std::vector<float> EmbeddingClassifier::frame_features(const std::vector<ClipView>& clips) {
  std::vector<float> frames;
  std::vector<std::uint8_t> joined;
  for (std::size_t i = 0; i < clips.size();) {
    // A run of clips with the same crop size is one encoder call (the encoder splits it into its
    // own batches); one whole clip is encoded in place, anything else is gathered first.
    const int crop = clips[i].crop_size;
    const std::size_t crop_bytes = static_cast<std::size_t>(crop) * crop * 3;
    std::size_t j = i;
    int n = 0;
    while (j < clips.size() && clips[j].crop_size == crop) n += clips[j++].n_frames;
    const std::uint8_t* rgb = clips[i].rgb;
    if (j - i > 1) {
      joined.resize(static_cast<std::size_t>(n) * crop_bytes);
      std::size_t at = 0;
      for (std::size_t k = i; k < j; ++k) {
        std::memcpy(joined.data() + at, clips[k].rgb, clips[k].n_frames * crop_bytes);
        at += clips[k].n_frames * crop_bytes;
      }
      rgb = joined.data();
    }
    const Embeddings e = encoder_->encode_rgb_crops(rgb, n, crop);
    frames.insert(frames.end(), e.values.begin(), e.values.end());
    i = j;
  }
  return frames;
}

const Tokenizer& EmbeddingClassifier::tokenizer() {
  if (!tokenizer_) tokenizer_ = models::tokenizer_from_pack_bytes(vocab_, path_);
  return *tokenizer_;
}

void EmbeddingClassifier::add_classes(const std::vector<std::string>& names) {
  if (templates_.empty())
    throw SettingsError("model pack '" + path_ + "' stores no class-name template");
  std::set<std::string> known(class_names_.begin(), class_names_.end());
  for (const std::string& n : names) {
    if (n.empty()) throw SettingsError("extra class names must not be empty");
    if (!known.insert(n).second)
      throw SettingsError("class '" + n + "' is already known to model pack '" + path_ + "'");
  }
  std::vector<float> added;
  for (const std::string& n : names) {
    const std::vector<float> e =
        models::class_embedding(*encoder_, tokenizer(), models::prompts_for(n, templates_));
    added.insert(added.end(), e.begin(), e.end());
  }
  class_embeddings_.insert(class_embeddings_.end(), added.begin(), added.end());
  class_names_.insert(class_names_.end(), names.begin(), names.end());
}

std::vector<std::vector<double>> EmbeddingClassifier::clip_logits(
    const std::vector<FrameRows>& clips) {
  const std::vector<double> videos = pool_embeddings(clips);
  const int d = encoder_->embed_dim();
  const std::size_t k = class_names_.size();
  std::vector<std::vector<double>> out;
  out.reserve(clips.size());
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const double* v = videos.data() + i * d;
    std::vector<double> logits(k, 0.0);
    for (std::size_t j = 0; j < k; ++j) {
      const float* t = class_embeddings_.data() + j * d;
      double dot = 0.0;
      for (int x = 0; x < d; ++x) dot += v[x] * t[x];
      logits[j] = logit_scale_ * dot;
    }
    out.push_back(std::move(logits));
  }
  return out;
}

}  // namespace hesp

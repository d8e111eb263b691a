// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/clip_zeroshot_model.h"

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "models/open_set.h"
#include "models/pack_support.h"

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

}  // namespace models

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

ClipZeroShotModel::ClipZeroShotModel(const ModelPack& pack, const ModelOptions& options) {
  const auto& m = pack.manifest();
  path_ = pack.path();
  name_ = pack.name();
  kind_ = pack.kind();
  try {
    for (const auto& c : m.at("classes")) class_names_.push_back(c.get<std::string>());
    score_rule_ = m.at("open_set").at("score").get<std::string>();
    default_unknown_threshold_ = m.at("open_set").at("unknown_threshold").get<double>();
    input_size_ = m.at("input").at("size").get<int>();
    frames_per_clip_ = m.at("frames_per_clip").get<int>();
    face_margin_ = m.at("input").value("face_margin", 0.0);
    for (const auto& t : m.at("text").at("templates")) templates_.push_back(t.get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw CorruptFileError(
        models::pack_error(path_, std::string("bad clip-zeroshot manifest: ") + e.what()));
  }
  const auto& rules = open_set_score_rules();
  if (std::find(rules.begin(), rules.end(), score_rule_) == rules.end())
    throw CorruptFileError(
        models::pack_error(path_, "unknown open-set score rule '" + score_rule_ + "'"));
  if (templates_.empty())
    throw CorruptFileError(models::pack_error(path_, "'text.templates' is empty"));
  for (const std::string& t : templates_)
    if (t.find("{}") == std::string::npos)
      throw CorruptFileError(
          models::pack_error(path_, "template '" + t + "' has no {} for the class name"));

  ClipOptions clip_options;
  clip_options.device = options.device;
  clip_options.threads = options.threads;
  encoder_ = ClipEncoder::load(path_, clip_options);
  device_ = options.device;
  logit_scale_ = encoder_->logit_scale();
  if (input_size_ != encoder_->input_size())
    throw CorruptFileError(models::pack_error(
        path_, "'input.size' is " + std::to_string(input_size_) + " but the CLIP weights take " +
                   std::to_string(encoder_->input_size()) + " px"));

  const TensorInfo& emb = pack.tensor(kClassEmbeddingsTensor);
  const std::vector<std::int64_t> want = {static_cast<std::int64_t>(class_names_.size()),
                                          encoder_->embed_dim()};
  if (emb.dtype != DType::kF32 || emb.shape != want)
    throw CorruptFileError(models::pack_error(
        path_, std::string("'") + kClassEmbeddingsTensor + "' is " + dtype_name(emb.dtype) + " " +
                   shape_text(emb.shape) + ", expected F32 " + shape_text(want) +
                   " (one embedding per class)"));
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

ClipZeroShotModel::~ClipZeroShotModel() = default;

const Tokenizer& ClipZeroShotModel::tokenizer() {
  if (!tokenizer_) tokenizer_ = models::tokenizer_from_pack_bytes(vocab_, path_);
  return *tokenizer_;
}

void ClipZeroShotModel::add_classes(const std::vector<std::string>& names) {
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

std::vector<ExpressionResult> ClipZeroShotModel::classify(const std::vector<ClipView>& clips,
                                                          double unknown_threshold) {
  if (std::isnan(unknown_threshold)) throw SettingsError("the unknown threshold is NaN");
  std::size_t total = 0;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const ClipView& c = clips[i];
    if (!c.rgb || c.n_frames < 1 || c.crop_size < 1)
      throw InputError("clip " + std::to_string(i) + " is empty (" + std::to_string(c.n_frames) +
                       " frames of " + std::to_string(c.crop_size) + " px)");
    total += c.n_frames;
  }
  if (clips.empty()) return {};

  // Frames of every clip in as few encoder calls as possible: a run of clips with the same crop
  // size is one call (the encoder splits it into its own batches).
  const int d = encoder_->embed_dim();
  std::vector<float> frames;
  frames.reserve(total * d);
  std::vector<std::uint8_t> joined;
  for (std::size_t i = 0; i < clips.size();) {
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
        const std::size_t bytes = static_cast<std::size_t>(clips[k].n_frames) * crop_bytes;
        std::memcpy(joined.data() + at, clips[k].rgb, bytes);
        at += bytes;
      }
      rgb = joined.data();
    }
    const Embeddings e = encoder_->encode_rgb_crops(rgb, n, crop);
    frames.insert(frames.end(), e.values.begin(), e.values.end());
    i = j;
  }

  const std::size_t k = class_names_.size();
  std::vector<ExpressionResult> results;
  results.reserve(clips.size());
  std::size_t row = 0;
  for (const ClipView& c : clips) {
    // Mean of the frame embeddings in double, frame by frame in order, then unit length: the
    // same numbers whatever the batch.
    std::vector<double> v(d, 0.0);
    for (int f = 0; f < c.n_frames; ++f, ++row)
      for (int x = 0; x < d; ++x) v[x] += frames[row * d + x];
    double norm = 0.0;
    for (double x : v) norm += x * x;
    norm = std::sqrt(norm);
    if (norm > 0.0)
      for (double& x : v) x /= norm;
    std::vector<double> logits(k, 0.0);
    for (std::size_t j = 0; j < k; ++j) {
      const float* t = class_embeddings_.data() + j * d;
      double dot = 0.0;
      for (int x = 0; x < d; ++x) dot += v[x] * t[x];
      logits[j] = logit_scale_ * dot;
    }
    results.push_back(models::result_from_logits(std::move(logits), class_names_, score_rule_,
                                                 unknown_threshold));
  }
  return results;
}

std::unique_ptr<ExpressionModel> make_clip_zeroshot_model(const ModelPack& pack,
                                                          const ModelOptions& options) {
  return std::make_unique<ClipZeroShotModel>(pack, options);
}

}  // namespace hesp

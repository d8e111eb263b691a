// SPDX-License-Identifier: LGPL-2.1-or-later
// clip-zeroshot packs: CLIP's image encoder against text embeddings of class prompts. A clip's
// embedding is the unit-length mean of its frames' image embeddings; its logits are logit_scale x
// the cosine with each class embedding; softmax, open-set score and the unknown decision then
// follow the same rules as every other kind. Torch-free: the encoder is hesp::ClipEncoder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hesp/clip_encoder.h"
#include "hesp/expression_model.h"
#include "hesp/tokenizer.h"

namespace hesp {

class ModelPack;

inline constexpr const char* kClipZeroShotKind = "clip-zeroshot";
// Tensor names inside a clip-zeroshot pack (the weights are "clip.<OpenAI name>").
inline constexpr const char* kClassEmbeddingsTensor = "class_text_embeddings";
inline constexpr const char* kVocabTensor = "vocab";

namespace models {

// The prompts for a class name: each template with its "{}" replaced by the name.
std::vector<std::string> prompts_for(const std::string& name,
                                     const std::vector<std::string>& templates);

// One class's embedding from its prompts: each prompt's text embedding scaled to unit length, the
// mean of those, scaled to unit length again (CLIP's prompt ensembling). [embed_dim] floats.
std::vector<float> class_embedding(const ClipEncoder& encoder, const Tokenizer& tokenizer,
                                   const std::vector<std::string>& prompts);

}  // namespace models

class ClipZeroShotModel final : public ExpressionModel {
 public:
  // Throws CorruptFileError when the pack's tensors or manifest do not fit together (class count,
  // embedding size, input size, templates), SettingsError for an unusable device.
  ClipZeroShotModel(const ModelPack& pack, const ModelOptions& options);
  ~ClipZeroShotModel() override;

  std::vector<ExpressionResult> classify(const std::vector<ClipView>& clips,
                                         double unknown_threshold) override;
  void add_classes(const std::vector<std::string>& names) override;

  // Unit-length class embeddings, [classes, embed_dim] row-major, extra classes included.
  const std::vector<float>& class_embeddings() const { return class_embeddings_; }
  int embed_dim() const { return encoder_->embed_dim(); }
  double logit_scale() const { return logit_scale_; }
  const std::vector<std::string>& templates() const { return templates_; }
  const ClipEncoder& encoder() const { return *encoder_; }

 private:
  const Tokenizer& tokenizer();

  std::unique_ptr<ClipEncoder> encoder_;
  std::vector<float> class_embeddings_;
  std::vector<std::string> templates_;
  double logit_scale_ = 0.0;
  // The vocabulary file as stored in the pack; the tokenizer is built from it on first use,
  // since only extra classes need it.
  std::vector<unsigned char> vocab_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

std::unique_ptr<ExpressionModel> make_clip_zeroshot_model(const ModelPack& pack,
                                                          const ModelOptions& options);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// The shared half of the pack kinds that classify by comparing a clip's embedding with text
// embeddings of the classes (clip-zeroshot, emoclip, and any later CLIP-space kind): the CLIP
// encoder, the class embeddings and the vocabulary from the pack, run-time classes from their
// names, and logits = logit_scale x cosine. A kind only says how a clip becomes one unit-length
// embedding.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hesp/clip_encoder.h"
#include "hesp/expression_model.h"
#include "hesp/tokenizer.h"

namespace hesp {

class ModelPack;

// Tensor names every embedding-classifier pack holds (the CLIP weights are "clip.<OpenAI name>").
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

// Segment centres, as data::sample_indices takes them in test mode: the t of n frames a clip
// longer than a model's positions is cut to, spread over its whole length.
std::vector<int> centre_frames(int n, int t);

}  // namespace models

class EmbeddingClassifier : public ExpressionModel {
 public:
  ~EmbeddingClassifier() override;

  // Each name goes through the pack's templates and the text tower, once, here.
  void add_classes(const std::vector<std::string>& names) final;

  // Unit-length class embeddings, [classes, embed_dim] row-major, extra classes included.
  const std::vector<float>& class_embeddings() const { return class_embeddings_; }
  int embed_dim() const { return encoder_->embed_dim(); }
  double logit_scale() const { return logit_scale_; }
  const std::vector<std::string>& templates() const { return templates_; }
  const ClipEncoder& encoder() const { return *encoder_; }

 protected:
  // Reads what every such pack holds: the manifest's "text.templates" (which must be non-empty
  // when templates_required), the CLIP encoder, "class_text_embeddings" and "vocab". The logit
  // scale starts as CLIP's own; a kind with a learned one sets logit_scale_ afterwards. Throws
  // CorruptFileError naming the pack when they do not fit together, what ClipEncoder::load throws
  // for the device.
  EmbeddingClassifier(const ModelPack& pack, const ModelOptions& options, bool templates_required);

  // Frames are CLIP image embeddings.
  int frame_width() const final { return encoder_->embed_dim(); }
  std::vector<float> frame_features(const std::vector<ClipView>& frames) final;
  // Logits are logit_scale() x the cosine between each clip's embedding and each class's.
  std::vector<std::vector<double>> clip_logits(const std::vector<FrameRows>& clips) final;

  // One unit-length embedding per clip from its frames' embeddings, [clips, embed_dim]
  // row-major, in double so that the cosine is summed the same way whatever the kind.
  virtual std::vector<double> pool_embeddings(const std::vector<FrameRows>& clips) = 0;

  std::unique_ptr<ClipEncoder> encoder_;
  std::vector<float> class_embeddings_;
  std::vector<std::string> templates_;
  double logit_scale_ = 0.0;

 private:
  const Tokenizer& tokenizer();

  // The vocabulary file as stored in the pack; the tokenizer is built from it on first use, since
  // only extra classes need it.
  std::vector<unsigned char> vocab_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

}  // namespace hesp

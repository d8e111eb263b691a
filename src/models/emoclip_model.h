// SPDX-License-Identifier: LGPL-2.1-or-later
// emoclip packs: CLIP's image encoder on every frame, EmoCLIP's temporal transformer over the
// frame embeddings, and the video embedding's cosine with each class's description embedding,
// times the learned logit scale, as the logits. Softmax, open-set score and the unknown decision
// follow the rules every kind shares (models::result_from_logits).
//
// Pack tensors: "clip.<OpenAI name>" (F32; the whole CLIP, so ClipEncoder::load and
// clip::read_checkpoint_tensors read the pack as a CLIP checkpoint), "temporal.<name>" (F32; the
// temporal transformer's parameters as TemporalTransformerImpl names them), "logit_scale" (F32
// scalar, log of the video-text scale), "class_text_embeddings" (F32 [K, E], unit rows), "vocab"
// (U8, the BPE vocabulary file). docs/emoclip.md has the manifest.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "models/embedding_classifier.h"

namespace hesp {

namespace clip {
class ClipModelImpl;
}
namespace nets {
class TemporalTransformerImpl;
}

inline constexpr const char* kEmoClipKind = "emoclip";
inline constexpr const char* kEmoClipTemporalPrefix = "temporal.";
inline constexpr const char* kEmoClipLogitScaleTensor = "logit_scale";

namespace models {

// Everything an emoclip pack holds, from trained modules. The modules are read, not changed.
struct EmoClipPackContents {
  const clip::ClipModelImpl* clip = nullptr;
  // Null for a CLIP trained frame by frame (no temporal model): the pack is then of kind
  // clip-zeroshot, whose clip embedding is the mean of its frames' embeddings, with
  // `frames_per_clip` frames per clip and log_logit_scale stored as CLIP's own scale.
  const nets::TemporalTransformerImpl* temporal = nullptr;
  int frames_per_clip = 8;
  double log_logit_scale = 0.0;  // the learned parameter (log of the factor)
  std::vector<std::string> class_names;
  std::vector<std::vector<std::string>> class_prompts;  // the descriptions, per class
  std::vector<float> class_embeddings;                  // [K, E] row-major, unit rows
  std::vector<unsigned char> vocab;                     // the vocabulary file's bytes
  std::vector<std::string> templates;                   // for add_classes
  std::string name;
  double unknown_cosine = 0.2;
  // The kernel precision the pack was made with ("fp32" or "bf16": validation and the class
  // embeddings); manifest open_set.precision, which ModelOptions::precision "auto" runs.
  std::string precision = "fp32";
  double face_margin = 0.1;
  // Stored as manifest "training" and "provenance" (objects; may be null).
  const nlohmann::json* training = nullptr;
  const nlohmann::json* provenance = nullptr;
};

// Writes the pack of a CLIP trained by hesp (temporary file + rename, as write_pack does): an
// emoclip pack with a temporal model, a clip-zeroshot pack without one. Throws SettingsError for
// contents that do not fit together (class count, embedding size, missing modules, templates
// without "{}"), Error when the file cannot be written.
void write_trained_clip_pack(const std::string& path, const EmoClipPackContents& contents);

}  // namespace models

class EmoClipModel final : public EmbeddingClassifier {
 public:
  // Throws CorruptFileError when the pack's tensors and manifest do not fit together, and what
  // ClipEncoder::load throws (SettingsError for an unusable device).
  EmoClipModel(const ModelPack& pack, const ModelOptions& options);
  ~EmoClipModel() override;

  // Unit-length video embeddings [clips, E] row-major (what classify compares with the classes).
  std::vector<float> video_embeddings(const std::vector<ClipView>& clips);

  // The temporal transformer reads consecutive frames at fixed positions.
  bool allows_frame_subsample() const override { return false; }

 private:
  struct Temporal;
  // A clip with more frames than the model's positions is cut to frames_per_clip() frames at its
  // segment centres (what training's test-mode sampling takes); shorter clips run as they are.
  std::vector<int> frames_used(int n_frames) const override;
  // The temporal transformer's output for the clip's frames, at unit length.
  std::vector<double> pool_embeddings(const std::vector<FrameRows>& clips) override;

  std::unique_ptr<Temporal> temporal_;
};

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// clip-zeroshot packs: CLIP's image encoder against text embeddings of class prompts. A clip's
// embedding is the unit-length mean of its frames' image embeddings; the rest (logits, run-time
// classes) is what every embedding classifier shares. Torch-free: the encoder is hesp::ClipEncoder.
#pragma once

#include <string>
#include <vector>

#include "models/embedding_classifier.h"

namespace hesp {

inline constexpr const char* kClipZeroShotKind = "clip-zeroshot";

class ClipZeroShotModel final : public EmbeddingClassifier {
 public:
  // Throws CorruptFileError when the pack's tensors or manifest do not fit together (class count,
  // embedding size, input size, templates), SettingsError for an unusable device.
  ClipZeroShotModel(const ModelPack& pack, const ModelOptions& options);

 private:
  // The mean of the frame embeddings, at unit length.
  std::vector<double> pool_embeddings(const std::vector<FrameRows>& clips) override;
};

}  // namespace hesp

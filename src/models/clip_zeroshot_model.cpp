// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/clip_zeroshot_model.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "models/clip_frames.h"
#include "models/pack_kinds.h"

namespace hesp {

ClipZeroShotModel::ClipZeroShotModel(const ModelPack& pack, const ModelOptions& options)
    : EmbeddingClassifier(pack, options, /*templates_required=*/true) {}

std::vector<double> ClipZeroShotModel::pool_embeddings(const std::vector<FrameRows>& clips) {
  const int d = encoder_->embed_dim();
  // Mean of the frame embeddings in double, frame by frame in order, then unit length: the same
  // numbers whatever the batch.
  std::vector<double> out(clips.size() * d, 0.0);
  for (std::size_t i = 0; i < clips.size(); ++i) {
    double* v = out.data() + i * d;
    for (int f = 0; f < clips[i].count; ++f)
      for (int x = 0; x < d; ++x) v[x] += clips[i].rows[f * d + x];
    double norm = 0.0;
    for (int x = 0; x < d; ++x) norm += v[x] * v[x];
    norm = std::sqrt(norm);
    if (norm > 0.0)
      for (int x = 0; x < d; ++x) v[x] /= norm;
  }
  return out;
}

namespace models {
HESP_DEFINE_PACK_LOADER(load_clip_zeroshot_pack, ClipZeroShotModel)
}  // namespace models

}  // namespace hesp

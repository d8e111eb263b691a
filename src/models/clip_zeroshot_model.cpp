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

std::vector<double> ClipZeroShotModel::clip_embeddings(const std::vector<ClipView>& clips) {
  const auto total = static_cast<std::size_t>(models::count_clip_frames(clips));
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

  // Mean of the frame embeddings in double, frame by frame in order, then unit length: the same
  // numbers whatever the batch.
  std::vector<double> out(clips.size() * d, 0.0);
  std::size_t row = 0;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    double* v = out.data() + i * d;
    for (int f = 0; f < clips[i].n_frames; ++f, ++row)
      for (int x = 0; x < d; ++x) v[x] += frames[row * d + x];
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

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "train/contrastive_loss.h"

#include <ATen/ATen.h>

#include "hesp/error.h"
#include "nets/temporal_transformer.h"

namespace hesp::train {

at::Tensor clip_contrastive_loss(const at::Tensor& video, const at::Tensor& text,
                                 const at::Tensor& log_scale) {
  if (video.dim() != 2 || text.dim() != 2 || video.sizes() != text.sizes())
    throw InputError("contrastive loss: video and text embeddings must both be [B, E] and match");
  const at::Tensor v = video / video.norm(2, -1, true).clamp_min(1e-12);
  const at::Tensor t = text / text.norm(2, -1, true).clamp_min(1e-12);
  const at::Tensor scale = log_scale.exp().clamp_max(nets::kMaxLogitScale);
  const at::Tensor logits = scale * v.mm(t.t());  // [B, B]: row = video, column = caption
  const at::Tensor target = at::arange(video.size(0), video.options().dtype(at::kLong));
  return (at::cross_entropy_loss(logits, target) + at::cross_entropy_loss(logits.t(), target)) /
         2.0;
}

}  // namespace hesp::train

// SPDX-License-Identifier: LGPL-2.1-or-later
// EmoCLIP's training objective: CLIP's symmetric InfoNCE between video and caption embeddings.
#pragma once

#include <ATen/Tensor.h>

namespace hesp::train {

// Scaled cosine logits and CLIP's symmetric InfoNCE loss. `video` and `text` [B, E] (any
// length; normalised here), `log_scale` a scalar tensor whose exp multiplies the cosines (clamped
// at 100 as CLIP does). Row i of each is the matching pair; the loss is the mean of the
// video-to-text and text-to-video cross-entropies. Returns the loss (scalar).
at::Tensor clip_contrastive_loss(const at::Tensor& video, const at::Tensor& text,
                                 const at::Tensor& log_scale);

}  // namespace hesp::train

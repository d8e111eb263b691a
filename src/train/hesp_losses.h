// SPDX-License-Identifier: LGPL-2.1-or-later
// HESP's five training losses, each a separate function so that each can be checked on its own.
// All are means over the batch; HESP adds them with weight 1 (hesp_total_loss).
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <string>

#include "nets/hesp_network.h"

namespace hesp::train {

// Cross-entropy of the CLIP branch: clip_logits [B, K], labels [B] int64.
at::Tensor hesp_clip_loss(const at::Tensor& clip_logits, const at::Tensor& labels);

// Supervised contrastive loss (Khosla et al.) on the video embeddings, one view per clip:
// z = v / |v|; for an anchor i with positives P(i) (other clips of its class),
//   l_i = -1/|P(i)| sum_{p in P(i)} log( exp(z_i.z_p / tau) / sum_{a != i} exp(z_i.z_a / tau) ),
// averaged over the anchors that have positives; 0 when none has. video [B, E], labels [B].
at::Tensor hesp_supcon_loss(const at::Tensor& video, const at::Tensor& labels,
                            double temperature = 0.5);

// ARPL's loss on the negative branch: CE(ne_logits) + margin_weight * mean(max(0, d_y - R + 1)),
// d_y = |v - c_y|^2 / E the mean squared distance of each clip to its own class's center.
at::Tensor hesp_negative_loss(const at::Tensor& ne_logits, const at::Tensor& video,
                              const at::Tensor& centers, const at::Tensor& labels,
                              const at::Tensor& radius, double margin_weight = 0.1);

// CLIP's symmetric contrastive loss between the negative visual prompts' embeddings c_k and the
// negative texts n_k ("This video is not k."): logits = scale * cos(c_i, n_j), target i = j,
// the mean of the row-wise and column-wise cross-entropies. centers, negative_text [K, E].
at::Tensor hesp_negative_prompt_loss(const at::Tensor& centers, const at::Tensor& negative_text,
                                     const at::Tensor& logit_scale);

// Cross-entropy of the ensemble (clip_logits + ne_logits) / 2.
at::Tensor hesp_ensemble_loss(const at::Tensor& ensemble, const at::Tensor& labels);

struct HespLoss {
  at::Tensor total;                     // scalar, the sum of the five terms
  std::map<std::string, double> terms;  // "clip", "supcon", "negative", "negative_prompt",
                                        // "ensemble"
};

// The five terms for one batch of network outputs.
HespLoss hesp_total_loss(const nets::HespOutputs& outputs, const at::Tensor& labels,
                         const at::Tensor& negative_text, const at::Tensor& logit_scale,
                         const at::Tensor& radius);

}  // namespace hesp::train

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "train/hesp_losses.h"

#include <ATen/ATen.h>

namespace hesp::train {

namespace {

at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& labels) {
  return at::nll_loss(at::log_softmax(logits, 1), labels);
}

at::Tensor unit(const at::Tensor& x) { return x / x.norm(2, -1, true).clamp_min(1e-12); }

}  // namespace

at::Tensor hesp_clip_loss(const at::Tensor& clip_logits, const at::Tensor& labels) {
  return cross_entropy(clip_logits, labels);
}

at::Tensor hesp_supcon_loss(const at::Tensor& video, const at::Tensor& labels, double temperature) {
  const int64_t b = video.size(0);
  const at::Tensor z = unit(video);
  const at::Tensor sim = z.matmul(z.t()) / temperature;  // [B, B]
  const at::Tensor self = at::eye(b, sim.options().dtype(at::kBool));
  // The anchor itself is left out of the denominator (a large negative rather than -inf, so that
  // a batch of one still has finite gradients); subtracting each row's maximum first keeps exp()
  // finite and cancels in the ratio.
  const at::Tensor shifted = sim - std::get<0>(sim.max(1, true)).detach();
  const at::Tensor log_denominator = at::logsumexp(shifted.masked_fill(self, -1e9), 1, true);
  const at::Tensor log_prob = shifted - log_denominator;
  const at::Tensor positive =
      labels.view({-1, 1}).eq(labels.view({1, -1})).logical_and(self.logical_not());
  const at::Tensor count = positive.sum(1);  // [B]
  const at::Tensor has = count.gt(0);
  if (!has.any().item<bool>()) return (video * 0).sum();  // keeps the graph, value 0
  const at::Tensor per_anchor =
      -(log_prob * positive.to(log_prob.scalar_type())).sum(1) / count.clamp_min(1);
  return per_anchor.masked_select(has).mean();
}

at::Tensor hesp_negative_loss(const at::Tensor& ne_logits, const at::Tensor& video,
                              const at::Tensor& centers, const at::Tensor& labels,
                              const at::Tensor& radius, double margin_weight) {
  const at::Tensor own = centers.index_select(0, labels);  // [B, E]
  const at::Tensor d = (video - own).pow(2).mean(1);       // [B]
  const at::Tensor margin = at::relu(d - radius + 1.0).mean();
  return cross_entropy(ne_logits, labels) + margin_weight * margin;
}

at::Tensor hesp_negative_prompt_loss(const at::Tensor& centers, const at::Tensor& negative_text,
                                     const at::Tensor& logit_scale) {
  const at::Tensor logits = logit_scale * unit(centers).matmul(unit(negative_text).t());
  const at::Tensor target = at::arange(centers.size(0), logits.options().dtype(at::kLong));
  return 0.5 * (cross_entropy(logits, target) + cross_entropy(logits.t(), target));
}

at::Tensor hesp_ensemble_loss(const at::Tensor& ensemble, const at::Tensor& labels) {
  return cross_entropy(ensemble, labels);
}

HespLoss hesp_total_loss(const nets::HespOutputs& o, const at::Tensor& labels,
                         const at::Tensor& negative_text, const at::Tensor& logit_scale,
                         const at::Tensor& radius) {
  const at::Tensor clip = hesp_clip_loss(o.clip_logits, labels);
  const at::Tensor supcon = hesp_supcon_loss(o.video, labels);
  const at::Tensor negative = hesp_negative_loss(o.ne_logits, o.video, o.centers, labels, radius);
  const at::Tensor prompt = hesp_negative_prompt_loss(o.centers, negative_text, logit_scale);
  const at::Tensor ensemble = hesp_ensemble_loss(o.ensemble, labels);
  HespLoss out;
  out.total = clip + supcon + negative + prompt + ensemble;
  out.terms = {{"clip", clip.item<double>()},
               {"supcon", supcon.item<double>()},
               {"negative", negative.item<double>()},
               {"negative_prompt", prompt.item<double>()},
               {"ensemble", ensemble.item<double>()}};
  return out;
}

}  // namespace hesp::train

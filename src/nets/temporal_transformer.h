// SPDX-License-Identifier: LGPL-2.1-or-later
// EmoCLIP's temporal model: a small transformer over a clip's per-frame CLIP image embeddings
// whose learnable class token becomes the video embedding. Built from the same pre-norm blocks as
// CLIP's towers (clip::Transformer), with the width equal to CLIP's joint embedding size, so the
// video embedding lives in the space the text tower projects into.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>

#include "clip/clip_model.h"

namespace hesp::nets {

struct TemporalGeometry {
  int64_t width = 512;  // = CLIP's embed_dim
  int64_t frames = 8;   // positions for frames; the class token takes one more
  int64_t layers = 2;
  int64_t heads = 8;  // width / 64, at least 1 (CLIP's rule)
};

// Heads for a width as CLIP chooses them: width / 64, at least one.
int64_t temporal_heads_for(int64_t width);

class TemporalTransformerImpl : public torch::nn::Module {
 public:
  // Parameters start as CLIP initialises its towers (normal class token and positions scaled by
  // width^-1/2, width- and depth-scaled block weights), drawn from the global torch generator.
  // Throws SettingsError for a non-positive size or a width the heads do not divide.
  explicit TemporalTransformerImpl(const TemporalGeometry& geometry);

  // Frame embeddings [N, F, W] with 1 <= F <= frames -> video embeddings [N, W] (the class
  // token's output after the final LayerNorm; not unit length). A clip shorter than `frames`
  // uses the first F + 1 positions: positions mean "frame slot i", not absolute time. Throws
  // InputError for F outside that range or a wrong width.
  at::Tensor forward(const at::Tensor& frame_embeddings);

  const TemporalGeometry& geometry() const { return geometry_; }

  at::Tensor class_embedding;       // [W]
  at::Tensor positional_embedding;  // [frames + 1, W]; row 0 belongs to the class token
  clip::Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};

 private:
  TemporalGeometry geometry_;
  // Plain at::linear: the temporal model is small and trains, so oneDNN's inference paths buy
  // nothing here.
  std::shared_ptr<clip::LinearKernel> kernel_;
};
TORCH_MODULE(TemporalTransformer);

// The largest value exp(log_scale) may take, as in CLIP.
inline constexpr double kMaxLogitScale = 100.0;

}  // namespace hesp::nets

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "nets/temporal_transformer.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "clip/clip_init.h"
#include "hesp/error.h"

namespace hesp::nets {

int64_t temporal_heads_for(int64_t width) { return width >= 64 ? width / 64 : 1; }

TemporalTransformerImpl::TemporalTransformerImpl(const TemporalGeometry& g)
    : geometry_(g), kernel_(std::make_shared<clip::LinearKernel>()) {
  if (g.width < 1 || g.frames < 1 || g.layers < 1 || g.heads < 1)
    throw SettingsError(
        "temporal transformer: width, frames, layers and heads must be positive "
        "(got width " +
        std::to_string(g.width) + ", frames " + std::to_string(g.frames) + ", layers " +
        std::to_string(g.layers) + ", heads " + std::to_string(g.heads) + ")");
  if (g.width % g.heads != 0)
    throw SettingsError("temporal transformer: " + std::to_string(g.heads) +
                        " heads do not divide the width " + std::to_string(g.width));
  const int64_t w = g.width;
  class_embedding = register_parameter("class_embedding", at::zeros({w}));
  positional_embedding = register_parameter("positional_embedding", at::zeros({g.frames + 1, w}));
  transformer = register_module("transformer", clip::Transformer(w, g.layers, g.heads, kernel_));
  ln_final =
      register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w}).eps(1e-5)));

  // CLIP's scheme (clip_init.h), so a fresh temporal model starts with the residual
  // stream's variance under control like the towers it sits on.
  const double scale = std::pow(static_cast<double>(w), -0.5);
  clip::normal_init(class_embedding, scale);
  clip::normal_init(positional_embedding, scale);
  clip::init_transformer_blocks(transformer, w, g.layers);
}

at::Tensor TemporalTransformerImpl::forward(const at::Tensor& frame_embeddings) {
  if (frame_embeddings.dim() != 3 || frame_embeddings.size(2) != geometry_.width)
    throw InputError("temporal transformer: expected frame embeddings [clips, frames, " +
                     std::to_string(geometry_.width) + "], got " +
                     std::to_string(frame_embeddings.dim()) + "-D input of width " +
                     std::to_string(frame_embeddings.dim() ? frame_embeddings.size(-1) : 0));
  const int64_t n = frame_embeddings.size(0), f = frame_embeddings.size(1);
  if (f < 1 || f > geometry_.frames)
    throw InputError("temporal transformer: a clip of " + std::to_string(f) +
                     " frames does not fit its " + std::to_string(geometry_.frames) +
                     " frame positions");
  const at::Tensor x_in = frame_embeddings.to(class_embedding.scalar_type());
  const at::Tensor cls = class_embedding.view({1, 1, -1}).expand({n, 1, geometry_.width});
  at::Tensor x = at::cat({cls, x_in}, 1) + positional_embedding.narrow(0, 0, f + 1);  // [N,F+1,W]
  x = transformer->forward(x);
  return at::layer_norm(x.select(1, 0), {geometry_.width}, ln_final->weight, ln_final->bias,
                        1e-5);  // [N, W]
}

}  // namespace hesp::nets

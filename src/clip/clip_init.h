// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP models with fresh random weights (to train from scratch, and for benchmarks and tests),
// OpenAI's initialisation for other transformers built from CLIP's blocks (nets/), and a model's
// weights under OpenAI's names (to save it where a checkpoint is expected).
#pragma once

#include <cstdint>
#include <string>

#include "clip/clip_checkpoint.h"

namespace hesp::clip {

// A model of the given geometry initialised as OpenAI's CLIP code initialises it (normal
// token/positional embeddings, width-scaled attention and MLP weights, logit scale log(1/0.07)),
// from `seed` alone. Trainable (requires_grad on, train mode).
ClipModel random_clip_model(const ModelGeometry& geometry, std::uint64_t seed);

// Draws t's values from N(0, std^2), outside autograd.
void normal_init(at::Tensor& t, double std);

// OpenAI's initialisation for one tower's residual blocks: attention input weights scaled by the
// width, output projections also by the depth, so the residual stream's variance stays put as
// layers add up; attention biases zero. Draws from the global generator in a fixed order.
void init_transformer_blocks(Transformer& transformer, int64_t width, int64_t layers);

// OpenAI's initialisation for the ResNet image tower: the attention pool's positions and
// projections from N(0, 1/width), every bottleneck's last BatchNorm scale zero (each block starts
// as its shortcut); convolutions keep LibTorch's default. Draws from the global generator.
void init_resnet(ModifiedResNet& resnet);

// Parses a geometry such as "image=64,patch=16,width=128,layers=2,text-width=128,text-layers=2,
// embed=64,context=77" (any subset; the rest keep ModelGeometry's defaults; heads = width / 64,
// so widths are multiples of 64). Throws SettingsError naming a bad key or value.
ModelGeometry parse_geometry(const std::string& spec);
std::string geometry_text(const ModelGeometry& geometry);

// Every parameter, and the ResNet tower's BatchNorm statistics, under its OpenAI checkpoint name,
// fp32, contiguous, on the CPU, detached.
TensorMap openai_tensors(const ClipModelImpl& model);

}  // namespace hesp::clip

// SPDX-License-Identifier: LGPL-2.1-or-later
// The LibTorch side of EmoCLIP training (include/hesp/emoclip.h is the public API). The pieces
// here are exposed for tests and for other trainers that embed text the same way.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "clip/clip_model.h"
#include "hesp/emoclip.h"
#include "hesp/tokenizer.h"

namespace hesp::train {

// The learning rate at optimiser step `step` (0-based) of `total_steps`: linear warm-up from
// base/warmup_steps to `base` over the first round(warmup_fraction x total_steps) steps, then a
// cosine from `base` down to 0 at the last step. A function of the step alone, so a resumed run
// follows the same curve.
double emoclip_learning_rate(std::int64_t step, std::int64_t total_steps, double base,
                             double warmup_fraction);

// Token ids [N, L] (int64) for the texts, L = the text tower's context length, padded with 0.
at::Tensor tokenize_texts(const Tokenizer& tokenizer, const std::vector<std::string>& texts,
                          int64_t context_length);

// Text embeddings [N, E] of token rows, with the rows cut to the longest text among them first:
// the causal mask keeps padding from influencing earlier positions, so the result is the same
// and the tower does less work.
at::Tensor encode_tokens(clip::TextTransformerImpl& text, const at::Tensor& tokens);

// Each class's embedding: its sentences' embeddings scaled to unit length, averaged, scaled to
// unit length again. [K, E] float on the CPU, no gradient.
at::Tensor description_embeddings(clip::TextTransformerImpl& text, const Tokenizer& tokenizer,
                                  const ClassDescriptions& descriptions);

}  // namespace hesp::train

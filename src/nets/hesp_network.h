// SPDX-License-Identifier: LGPL-2.1-or-later
// HESP (Liu et al., ACM MM 2024): prompt learning on a frozen CLIP for open-set video expression
// recognition. The network holds the learnable pieces (class-specific text context, the visual
// prompt patch, one negative visual prompt per class, the ARPL radius and, in the paper variant,
// a temporal attention over frames) around a frozen ClipModel. docs/hesp.md describes the method
// and where the two variants differ.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "clip/clip_model.h"
#include "hesp/tokenizer.h"

namespace hesp::nets {

// "paper": the method as the paper describes it (trainable text context, class names paired with
// their own labels, temporal attention, an expression-sensitive prompt location). "released":
// the authors' code with its defects, for comparison (see docs/hesp.md).
// "coop": the baseline HESP builds on — CoOp's class-specific text context trained with the CLIP
// cross-entropy alone (no visual or negative prompts, mean pooling), classifying by the CLIP
// logits; scored by the maximum softmax probability it is the MSP baseline of open-set work.
enum class HespVariant { kPaper, kReleased, kCoop };

// Throws SettingsError for anything but "paper" / "released" / "coop".
HespVariant parse_hesp_variant(const std::string& name);
const char* hesp_variant_name(HespVariant variant);

// The class name each label's prompts are built from. Paper: label i -> names[i]. Released: the
// names sorted alphabetically, label i -> sorted[i], which pairs a label with another class's
// name whenever `names` (in label order) is not already alphabetical.
std::vector<std::string> prompt_class_names(const std::vector<std::string>& names,
                                            HespVariant variant);

// Side of the square visual prompt: a quarter of the input (56 px for CLIP's 224).
inline int64_t visual_prompt_side(int64_t image_size) { return image_size / 4; }

// Where the visual prompt sits: top-left corner in input pixels and its side.
struct PromptLocation {
  int64_t x = 0;
  int64_t y = 0;
  int64_t side = 0;
};

// The side x side window of an S x S map with the largest summed value (first one in row-major
// order on ties), so it always lies inside the image. saliency [S, S].
PromptLocation best_window(const at::Tensor& saliency, int64_t side);

// Released variant: a class-activation map from a freshly initialised (never trained) linear
// classifier over the patch-embedding map of one frame; the window is centred on the map's
// maximum (upsampled to pixels) and clamped inside the image. frame01 [3, S, S] in [0, 1].
// Deterministic for the seed.
PromptLocation released_prompt_location(clip::ClipModelImpl& clip, const at::Tensor& frame01,
                                        int64_t num_classes, std::uint64_t seed);

// Paper variant: the frozen CLIP's final patch tokens (through ln_post and proj) are compared
// with the known classes' text embeddings; a pixel's saliency is the softmax probability of the
// frame's own class at its patch, averaged over the sample. The window with the most saliency
// wins. frames01 [N, 3, S, S] in [0, 1], labels [N] in 0..K-1, class_text [K, E].
PromptLocation paper_prompt_location(clip::ClipModelImpl& clip, const at::Tensor& frames01,
                                     const at::Tensor& labels, const at::Tensor& class_text);

// Adds the prompt (zero outside its window) to every image: images01 [N, 3, S, S] in [0, 1],
// prompt [3, side, side] -> [N, 3, S, S], still in pixel units (normalise afterwards).
at::Tensor add_visual_prompt(const at::Tensor& images01, const at::Tensor& prompt,
                             const PromptLocation& location);

// Image embeddings [N, E] of frames01 [N, 3, S, S] in [0, 1] with the visual prompt added, then
// CLIP-normalised. Differentiable with respect to the frames and the prompt.
at::Tensor hesp_encode_frames(clip::ClipModelImpl& clip, const at::Tensor& frames01,
                              const at::Tensor& prompt, const PromptLocation& location);

// Video embedding from frame embeddings [B, T, E] -> [B, E].
// Released: the plain mean. Paper: softmax attention over frames with scores
//   s_t = (q . d_t + g * |d_t|) / sqrt(E),  d_t = f_t - mean_t f,
// so frames that leave the clip's average appearance (onset, apex) can be weighted up. q [E] and
// g [] start at zero, which makes the attention uniform: training starts from mean pooling.
at::Tensor pool_frames(const at::Tensor& frame_embeddings, HespVariant variant,
                       const at::Tensor& query, const at::Tensor& gain);

// Negative-branch logits, ARPL style: |v - c_k|^2 / E - v . c_k. v [B, E], centers [K, E] ->
// [B, K].
at::Tensor negative_logits(const at::Tensor& v, const at::Tensor& centers);

// logit_scale * cos(v, t_k): v [B, E], text [K, E] -> [B, K].
at::Tensor cosine_logits(const at::Tensor& v, const at::Tensor& text, const at::Tensor& scale);

// The logits a variant classifies by: the ensemble (cosine + negative) / 2 for paper and
// released, the cosine logits alone for coop. v [B, E] -> [B, K].
at::Tensor variant_logits(const at::Tensor& v, const at::Tensor& text, const at::Tensor& centers,
                          const at::Tensor& scale, HespVariant variant);
// The open-set score rule that goes with them: max_logit (HESP), max_softmax (coop: MSP).
const char* variant_score_rule(HespVariant variant);

struct HespNetworkOptions {
  HespVariant variant = HespVariant::kPaper;
  int64_t context_tokens = 16;  // n_ctx learnable vectors per class
  std::uint64_t seed = 0;       // initialisation of the context and the negative prompts
};

struct HespOutputs {
  at::Tensor video;          // v [B, E]
  at::Tensor text_features;  // t_k [K, E]
  at::Tensor centers;        // c_k [K, E]: the negative visual prompts' embeddings
  at::Tensor clip_logits;    // [B, K]
  at::Tensor ne_logits;      // [B, K]
  at::Tensor ensemble;       // [B, K]: (clip_logits + ne_logits) / 2
};

class HespNetworkImpl : public torch::nn::Module {
 public:
  // `clip` is frozen here (gradients off on all its weights). `prompt_names` are the class names
  // the prompts carry, one per label (see prompt_class_names). Throws SettingsError when a prompt
  // does not fit the text context.
  HespNetworkImpl(clip::ClipModel clip, const Tokenizer& tokenizer,
                  const std::vector<std::string>& prompt_names, const HespNetworkOptions& options);

  // frames01 [B, T, 3, S, S] RGB in [0, 1].
  HespOutputs forward(const at::Tensor& frames01);

  // Frame embeddings with the visual prompt applied: frames01 [N, 3, S, S] -> [N, E].
  at::Tensor encode_frames(const at::Tensor& frames01);
  // t_k from the learned context: [K, E].
  at::Tensor text_features();
  // c_k = image encoder(P_k): [K, E]. P is taken as an already normalised image.
  at::Tensor negative_centers();
  // The frozen negative texts "This video is not {name}.": [K, E].
  const at::Tensor& negative_text_features() const { return negative_text_; }
  at::Tensor logit_scale() const { return clip_->logit_scale.exp(); }

  void set_location(const PromptLocation& location) { location_ = location; }
  const PromptLocation& location() const { return location_; }
  HespVariant variant() const { return options_.variant; }
  int64_t num_classes() const { return context.size(0); }
  clip::ClipModelImpl& clip() { return *clip_; }

  // Learnable.
  at::Tensor context;           // [K, n_ctx, Wt] ~ N(0, 0.02)
  at::Tensor visual_prompt;     // delta [3, p, p], zeros, pixel units
  at::Tensor negative_prompts;  // P [K, 3, S, S] ~ N(0, 1), normalised-image units
  at::Tensor radius;            // R [], ARPL's margin radius, starts at 0
  at::Tensor temporal_query;    // q [E], zeros (used by the paper variant only)
  at::Tensor temporal_gain;     // g [], zero (paper variant only)

 private:
  clip::ClipModel clip_;
  HespNetworkOptions options_;
  PromptLocation location_;
  at::Tensor prefix_;        // [K, 1, Wt] start-token embedding
  at::Tensor suffix_;        // [K, L - 1 - n_ctx, Wt] class name, period, end, padding
  at::Tensor end_position_;  // [K] int64
  at::Tensor negative_text_;
};
TORCH_MODULE(HespNetwork);

}  // namespace hesp::nets

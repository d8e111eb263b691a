// SPDX-License-Identifier: LGPL-2.1-or-later
#include "nets/hesp_network.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>

#include "hesp/error.h"

namespace hesp::nets {

namespace {

at::Tensor layer_norm(const torch::nn::LayerNorm& ln, const at::Tensor& x) {
  return at::layer_norm(x, {x.size(-1)}, ln->weight, ln->bias, 1e-5);
}

// Every token of the vision transformer after its last block: normalised images [N, 3, S, S] ->
// [N, 1 + g^2, W]. VisionTransformerImpl::forward keeps only the class token; the paper variant's
// prompt location needs the patch tokens too, so the stem is restated here (same arithmetic).
at::Tensor vision_tokens(clip::VisionTransformerImpl& visual, const at::Tensor& images) {
  const auto& g = visual.geometry();
  const int64_t n = images.size(0), p = g.patch_size, grid = g.grid(), w = g.width;
  const at::Tensor patches = images.reshape({n, 3, grid, p, grid, p})
                                 .permute({0, 2, 4, 1, 3, 5})
                                 .reshape({n, grid * grid, 3 * p * p});
  const at::Tensor patch_embed = at::matmul(patches, visual.conv1->weight.view({w, -1}).t());
  const at::Tensor cls = visual.class_embedding.view({1, 1, w}).expand({n, 1, w});
  at::Tensor x = at::cat({cls, patch_embed}, 1) + visual.positional_embedding;
  return visual.transformer->forward(layer_norm(visual.ln_pre, x));
}

at::Generator seeded(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

}  // namespace

HespVariant parse_hesp_variant(const std::string& name) {
  if (name == "paper") return HespVariant::kPaper;
  if (name == "released") return HespVariant::kReleased;
  if (name == "coop") return HespVariant::kCoop;
  throw SettingsError("unknown HESP variant '" + name + "' (expected paper, released or coop)");
}

const char* hesp_variant_name(HespVariant variant) {
  switch (variant) {
    case HespVariant::kPaper:
      return "paper";
    case HespVariant::kReleased:
      return "released";
    case HespVariant::kCoop:
      return "coop";
  }
  return "paper";
}

at::Tensor variant_logits(const at::Tensor& v, const at::Tensor& text, const at::Tensor& centers,
                          const at::Tensor& scale, HespVariant variant) {
  if (variant == HespVariant::kCoop) return cosine_logits(v, text, scale);
  return 0.5 * (cosine_logits(v, text, scale) + negative_logits(v, centers));
}

const char* variant_score_rule(HespVariant variant) {
  return variant == HespVariant::kCoop ? "max_softmax" : "max_logit";
}

std::vector<std::string> prompt_class_names(const std::vector<std::string>& names,
                                            HespVariant variant) {
  std::vector<std::string> out = names;
  if (variant == HespVariant::kReleased) std::sort(out.begin(), out.end());
  return out;
}

PromptLocation best_window(const at::Tensor& saliency, int64_t side) {
  const int64_t s = saliency.size(-1);
  if (side < 1 || side > s)
    throw SettingsError("visual prompt of " + std::to_string(side) + " px does not fit a " +
                        std::to_string(s) + " px image");
  // Window sums for every top-left corner at once: an average pool with stride 1.
  const at::Tensor sums =
      at::avg_pool2d(saliency.to(at::kDouble).view({1, 1, s, s}), {side, side}, {1, 1})
          .view({-1})
          .cpu();
  const int64_t best = sums.argmax().item<int64_t>();
  const int64_t span = s - side + 1;
  return {best % span, best / span, side};
}

PromptLocation released_prompt_location(clip::ClipModelImpl& clip, const at::Tensor& frame01,
                                        int64_t num_classes, std::uint64_t seed) {
  c10::NoGradGuard no_grad;
  const int64_t s = clip.geometry().vision.image_size;
  const at::Tensor x = clip::clip_normalize(frame01.to(clip.logit_scale.device()).unsqueeze(0));
  // The tower's first feature map: a ViT's patch embedding, a ResNet's stem.
  const at::Tensor feat =
      (clip.visual ? clip.visual->conv1->forward(x) : clip.visual_resnet->stem(x))[0]
          .contiguous()
          .cpu();  // [W, h, w]
  const int64_t w = feat.size(0), grid_h = feat.size(1), grid_w = feat.size(2);
  // A classifier that never saw data: nn.Linear's default initialisation, from the seed.
  const double bound = 1.0 / std::sqrt(static_cast<double>(w));
  at::Generator gen = seeded(seed);
  const at::Tensor weight = at::rand({num_classes, w}, gen) * (2 * bound) - bound;
  const at::Tensor bias = at::rand({num_classes}, gen) * (2 * bound) - bound;
  const int64_t cls = (weight.mv(feat.mean({1, 2})) + bias).argmax().item<int64_t>();
  const at::Tensor cam = (weight[cls].view({w, 1, 1}) * feat).sum(0);  // [g, g]
  const at::Tensor up =
      at::upsample_bilinear2d(cam.view({1, 1, grid_h, grid_w}), {s, s}, /*align_corners=*/false)
          .view({-1});
  const int64_t peak = up.argmax().item<int64_t>();
  const int64_t side = visual_prompt_side(s);
  const int64_t cy = peak / s, cx = peak % s;
  return {std::clamp<int64_t>(cx - side / 2, 0, s - side),
          std::clamp<int64_t>(cy - side / 2, 0, s - side), side};
}

PromptLocation paper_prompt_location(clip::ClipModelImpl& clip, const at::Tensor& frames01,
                                     const at::Tensor& labels, const at::Tensor& class_text) {
  c10::NoGradGuard no_grad;
  const auto& g = clip.geometry().vision;
  const int64_t s = g.image_size, grid = g.grid();
  const auto device = clip.logit_scale.device();
  at::Tensor text = class_text.to(device);
  text = text / text.norm(2, -1, true).clamp_min(1e-12);
  const at::Tensor labels_dev = labels.to(device);
  at::Tensor saliency = at::zeros({grid * grid}, at::TensorOptions().device(device));
  const int64_t n = frames01.size(0);
  constexpr int64_t kChunk = 32;
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk);
    const at::Tensor x = clip::clip_normalize(frames01.slice(0, begin, end).to(device));
    at::Tensor patch;  // [n, g^2, E]: every grid position in the joint space
    if (clip.visual) {
      auto& visual = *clip.visual;
      const at::Tensor tokens = vision_tokens(visual, x).narrow(1, 1, grid * grid);
      patch = layer_norm(visual.ln_post, tokens).matmul(visual.proj);
    } else {
      auto& resnet = *clip.visual_resnet;
      patch = resnet.attnpool->dense(resnet.features(x));
    }
    patch = patch / patch.norm(2, -1, true).clamp_min(1e-12);
    const at::Tensor prob =
        at::softmax(clip.logit_scale.exp() * patch.matmul(text.t()), -1);  // [n, g^2, K]
    const at::Tensor own = prob.gather(
        2, labels_dev.slice(0, begin, end).view({-1, 1, 1}).expand({-1, grid * grid, 1}));
    saliency += own.squeeze(2).sum(0);
  }
  saliency /= static_cast<double>(n);
  const at::Tensor up = at::upsample_bilinear2d(saliency.view({1, 1, grid, grid}), {s, s},
                                                /*align_corners=*/false);
  return best_window(up.view({s, s}), visual_prompt_side(s));
}

at::Tensor add_visual_prompt(const at::Tensor& images01, const at::Tensor& prompt,
                             const PromptLocation& l) {
  const int64_t s = images01.size(-1);
  // Zero padding places the patch; the sum keeps the gradient path to the prompt.
  const at::Tensor placed =
      at::constant_pad_nd(prompt, {l.x, s - l.x - l.side, l.y, s - l.y - l.side}, 0.0);
  return images01 + placed;
}

at::Tensor hesp_encode_frames(clip::ClipModelImpl& clip, const at::Tensor& frames01,
                              const at::Tensor& prompt, const PromptLocation& location) {
  return clip.encode_image(clip::clip_normalize(add_visual_prompt(frames01, prompt, location)));
}

at::Tensor pool_frames(const at::Tensor& f, HespVariant variant, const at::Tensor& query,
                       const at::Tensor& gain) {
  if (variant != HespVariant::kPaper) return f.mean(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(f.size(-1)));
  const at::Tensor d = f - f.mean(1, true);                        // [B, T, E]
  const at::Tensor magnitude = (d * d).sum(-1).add(1e-12).sqrt();  // [B, T], smooth at 0
  const at::Tensor scores = (d.matmul(query) + gain * magnitude) * scale;
  const at::Tensor weights = at::softmax(scores, 1);  // [B, T]
  return (weights.unsqueeze(-1) * f).sum(1);
}

at::Tensor negative_logits(const at::Tensor& v, const at::Tensor& centers) {
  const at::Tensor dot = v.matmul(centers.t());  // [B, K]
  const at::Tensor sq = (v * v).sum(1, true) - 2 * dot + (centers * centers).sum(1).unsqueeze(0);
  return sq / static_cast<double>(v.size(1)) - dot;
}

at::Tensor cosine_logits(const at::Tensor& v, const at::Tensor& text, const at::Tensor& scale) {
  const at::Tensor vn = v / v.norm(2, -1, true).clamp_min(1e-12);
  const at::Tensor tn = text / text.norm(2, -1, true).clamp_min(1e-12);
  return scale * vn.matmul(tn.t());
}

HespNetworkImpl::HespNetworkImpl(clip::ClipModel clip, const Tokenizer& tokenizer,
                                 const std::vector<std::string>& prompt_names,
                                 const HespNetworkOptions& options)
    : clip_(std::move(clip)), options_(options) {
  if (prompt_names.empty()) throw SettingsError("HESP needs at least one known class");
  if (options.context_tokens < 1)
    throw SettingsError("the text context needs at least one vector per class");
  for (auto& p : clip_->parameters()) p.set_requires_grad(false);
  clip_->eval();

  const auto& geo = clip_->geometry();
  const int64_t k = static_cast<int64_t>(prompt_names.size());
  const int64_t len = geo.text.context_length, n_ctx = options.context_tokens;
  const auto device = clip_->logit_scale.device();
  const auto ids_options = at::TensorOptions().dtype(at::kLong);

  // CoOp's trick: the template's "X" placeholders each tokenise to one token, whose embeddings
  // are then replaced by the learned vectors; everything after them stays as tokenised.
  std::string placeholders;
  for (int64_t i = 0; i < n_ctx; ++i) placeholders += i ? " X" : "X";
  const std::vector<int> x_ids = tokenizer.encode(placeholders);
  if (static_cast<int64_t>(x_ids.size()) != n_ctx)
    throw SettingsError("the prompt placeholder does not tokenise to one token per vector");
  at::Tensor ids = at::zeros({k, len}, ids_options);
  at::Tensor negative_ids = at::zeros({k, len}, ids_options);
  for (int64_t c = 0; c < k; ++c) {
    const std::string& name = prompt_names[c];
    const std::string text = placeholders + " " + name + ".";
    const std::string negative = "This video is not " + name + ".";
    for (const std::string* t : {&text, &negative})
      if (static_cast<int64_t>(tokenizer.encode(*t).size()) + 2 > len)
        throw SettingsError("the prompt '" + *t + "' is longer than the text encoder's " +
                            std::to_string(len) + " tokens");
    const auto row = tokenizer.tokenize(text, static_cast<int>(len));
    const auto neg = tokenizer.tokenize(negative, static_cast<int>(len));
    for (int64_t j = 0; j < len; ++j) {
      ids[c][j] = row[j];
      negative_ids[c][j] = neg[j];
    }
  }
  ids = ids.to(device);
  end_position_ = ids.argmax(-1);
  {
    c10::NoGradGuard no_grad;
    const at::Tensor emb = at::embedding(clip_->text->token_embedding->weight, ids);
    prefix_ = emb.narrow(1, 0, 1).clone();
    suffix_ = emb.narrow(1, 1 + n_ctx, len - 1 - n_ctx).clone();
    negative_text_ = clip_->text->forward(negative_ids.to(device)).clone();
  }

  const int64_t s = geo.vision.image_size, side = visual_prompt_side(s);
  if (side < 1) throw SettingsError("the input is too small for a visual prompt");
  at::Generator gen = seeded(options.seed);
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  // Drawn on the CPU from the seed, so a model starts the same on every device.
  context = register_parameter("context",
                               (at::randn({k, n_ctx, geo.text.width}, gen, f32) * 0.02).to(device));
  negative_prompts =
      register_parameter("negative_prompts", at::randn({k, 3, s, s}, gen, f32).to(device));
  visual_prompt =
      register_parameter("visual_prompt", at::zeros({3, side, side}, f32.device(device)));
  radius = register_parameter("radius", at::zeros({}, f32.device(device)));
  temporal_query =
      register_parameter("temporal_query", at::zeros({geo.vision.embed_dim}, f32.device(device)));
  temporal_gain = register_parameter("temporal_gain", at::zeros({}, f32.device(device)));
  location_ = {0, 0, side};
  // Released: the context never trains (that code clears its gradient before every step), so its
  // gradient is not even computed; the result is the same for less work.
  if (options.variant == HespVariant::kReleased) context.set_requires_grad(false);
}

at::Tensor HespNetworkImpl::text_features() {
  const at::Tensor emb = at::cat({prefix_, context, suffix_}, 1);  // [K, L, Wt]
  return clip_->text->forward_embeddings(emb, end_position_);
}

at::Tensor HespNetworkImpl::negative_centers() { return clip_->encode_image(negative_prompts); }

at::Tensor HespNetworkImpl::encode_frames(const at::Tensor& frames01) {
  return hesp_encode_frames(*clip_, frames01, visual_prompt, location_);
}

HespOutputs HespNetworkImpl::forward(const at::Tensor& frames01) {
  const int64_t b = frames01.size(0), t = frames01.size(1);
  HespOutputs out;
  const at::Tensor frames = encode_frames(frames01.flatten(0, 1)).view({b, t, -1});
  out.video = pool_frames(frames, options_.variant, temporal_query, temporal_gain);
  out.text_features = text_features();
  out.centers = negative_centers();
  out.clip_logits = cosine_logits(out.video, out.text_features, logit_scale());
  out.ne_logits = negative_logits(out.video, out.centers);
  out.ensemble = 0.5 * (out.clip_logits + out.ne_logits);
  return out;
}

}  // namespace hesp::nets

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/clip_model.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <limits>
#include <utility>

#include "clip/packed_vision.h"

namespace hesp::clip {

namespace {

torch::nn::LayerNorm layer_norm(int64_t width) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5));
}

at::Tensor apply_layer_norm(const torch::nn::LayerNorm& ln, const at::Tensor& x) {
  return at::layer_norm(x, {x.size(-1)}, ln->weight, ln->bias, 1e-5);
}

// In-place updates save memory traffic at inference, but autograd (prompt training runs through
// the text tower) needs the overwritten values, so they are used only with gradients off.
bool may_overwrite() { return !at::GradMode::is_enabled(); }

}  // namespace

LinearKernel inference_kernel(bool onednn, bool bf16) {
  LinearKernel k;
  k.onednn = onednn;
  k.bf16 = bf16;
  k.packed_vision = onednn && !bf16;  // set_kernel checks the CPU and the tower's shapes
  return k;
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                  const LinearKernel& kernel) {
  const bool cpu_float = x.device().is_cpu() && x.scalar_type() == at::kFloat;
  if (cpu_float && kernel.bf16) {
    const auto it = kernel.packed.find(weight.data_ptr());
    const at::Tensor& w = it != kernel.packed.end() ? it->second : weight;
    const at::Tensor y = at::linear(x.to(at::kBFloat16), w.to(at::kBFloat16));
    // The bias joins in fp32 in the same pass that converts back (type promotion), so it is not
    // rounded to bf16.
    return bias.defined() ? at::add(bias, y) : y.to(at::kFloat);
  }
  if (cpu_float && kernel.onednn) {
    auto out_shape = x.sizes().vec();
    out_shape.back() = weight.size(0);
    const at::Tensor x2 = x.reshape({-1, x.size(-1)}).contiguous();
    const c10::optional<at::Tensor> b =
        bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt;
    return at::mkldnn_linear(x2.to_mkldnn(), weight, b).to_dense().view(out_shape);
  }
  return at::linear(x, weight, bias);
}

at::Tensor causal_mask(int64_t length, const at::TensorOptions& options) {
  return at::full({length, length}, -std::numeric_limits<float>::infinity(), options).triu_(1);
}

AttentionImpl::AttentionImpl(int64_t width, int64_t heads,
                             std::shared_ptr<const LinearKernel> kernel)
    : heads_(heads), kernel_(std::move(kernel)) {
  in_proj_weight = register_parameter("in_proj_weight", at::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", at::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const int64_t n = x.size(0), len = x.size(1), width = x.size(2);
  const int64_t head_dim = width / heads_;
  // One product for q, k and v; then one copy puts each head's rows together so the batched
  // products below read plain [N*H, L, D] matrices.
  const at::Tensor qkv = linear(x, in_proj_weight, in_proj_bias, *kernel_)
                             .view({n, len, 3, heads_, head_dim})
                             .permute({2, 0, 3, 1, 4})
                             .contiguous();  // [3, N, H, L, D]
  const at::Tensor q = qkv[0].view({n * heads_, len, head_dim});
  const at::Tensor k = qkv[1].view({n * heads_, len, head_dim});
  const at::Tensor v = qkv[2].view({n * heads_, len, head_dim});
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  at::Tensor scores = mask.defined()
                          ? at::baddbmm(mask, q, k.transpose(1, 2), /*beta=*/1.0, /*alpha=*/scale)
                          : at::bmm(q * scale, k.transpose(1, 2));  // [N*H, L, L]
  scores = at::_softmax(scores, -1, false);
  const at::Tensor heads_out = at::bmm(scores, v)  // [N*H, L, D]
                                   .view({n, heads_, len, head_dim})
                                   .transpose(1, 2)
                                   .reshape({n, len, width});
  return linear(heads_out, out_proj->weight, out_proj->bias, *kernel_);
}

MlpImpl::MlpImpl(int64_t width, std::shared_ptr<const LinearKernel> kernel)
    : kernel_(std::move(kernel)) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, 4 * width));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * width, width));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  // QuickGELU(h) = h * sigmoid(1.702 h) = silu(1.702 h) / 1.702. The division commutes with
  // c_proj's matrix product, so it is applied to c_proj's 4x smaller output together with the
  // bias: two passes over the wide hidden activations instead of three, and no temporaries.
  constexpr double kScale = 1.702;
  at::Tensor h = linear(x, c_fc->weight, c_fc->bias, *kernel_);  // [N, L, 4W]
  if (may_overwrite())
    at::silu_(h.mul_(kScale));
  else
    h = at::silu(h * kScale);
  const at::Tensor y = linear(h, c_proj->weight, at::Tensor(), *kernel_);  // [N, L, W]
  return at::add(c_proj->bias, y, 1.0 / kScale);
}

ResidualBlockImpl::ResidualBlockImpl(int64_t width, int64_t heads,
                                     std::shared_ptr<const LinearKernel> kernel) {
  ln_1 = register_module("ln_1", layer_norm(width));
  attn = register_module("attn", Attention(width, heads, kernel));
  ln_2 = register_module("ln_2", layer_norm(width));
  mlp = register_module("mlp", Mlp(width, kernel));
}

at::Tensor ResidualBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  at::Tensor out = x + attn->forward(apply_layer_norm(ln_1, x), mask);
  const at::Tensor update = mlp->forward(apply_layer_norm(ln_2, out));
  return may_overwrite() ? out.add_(update) : out + update;
}

TransformerImpl::TransformerImpl(int64_t width, int64_t layers, int64_t heads,
                                 std::shared_ptr<const LinearKernel> kernel) {
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) resblocks->push_back(ResidualBlock(width, heads, kernel));
}

at::Tensor TransformerImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  at::Tensor h = x;
  for (const auto& block : *resblocks) h = block->as<ResidualBlockImpl>()->forward(h, mask);
  return h;
}

VisionTransformerImpl::VisionTransformerImpl(const VisionGeometry& g,
                                             std::shared_ptr<const LinearKernel> kernel)
    : geometry_(g), kernel_(kernel) {
  const int64_t w = g.width;
  conv1 = register_module(
      "conv1", torch::nn::Conv2d(
                   torch::nn::Conv2dOptions(3, w, g.patch_size).stride(g.patch_size).bias(false)));
  class_embedding = register_parameter("class_embedding", at::zeros({w}));
  positional_embedding =
      register_parameter("positional_embedding", at::zeros({g.grid() * g.grid() + 1, w}));
  ln_pre = register_module("ln_pre", layer_norm(w));
  transformer = register_module("transformer", Transformer(w, g.layers, g.heads, kernel));
  ln_post = register_module("ln_post", layer_norm(w));
  proj = register_parameter("proj", at::zeros({w, g.embed_dim}));
}

at::Tensor VisionTransformerImpl::forward(const at::Tensor& images) {
  if (kernel_->vision && !at::GradMode::is_enabled() && images.device().is_cpu() &&
      images.scalar_type() == at::kFloat)
    return kernel_->vision->forward(images);
  const int64_t n = images.size(0), p = geometry_.patch_size, g = geometry_.grid();
  const int64_t w = geometry_.width, tokens = g * g;
  // The stride-p convolution is one matrix product on the image cut into patches: a row per
  // patch holding its (channel, y, x) pixels, the order of conv1's weight.
  const at::Tensor patches =
      images.view({n, 3, g, p, g, p}).permute({0, 2, 4, 1, 3, 5}).reshape({n * tokens, 3 * p * p});
  const at::Tensor patch_embed =
      linear(patches, conv1->weight.view({w, 3 * p * p}), at::Tensor(), *kernel_)
          .view({n, tokens, w});
  // Out-of-place, so autograd can follow it when a trainer needs gradients through the tower
  // (HESP's visual prompts, EmoCLIP from scratch); the cost over writing in place is one copy.
  const at::Tensor cls = (class_embedding + positional_embedding[0]).expand({n, 1, w});
  at::Tensor x = at::cat({cls, patch_embed + positional_embedding.narrow(0, 1, tokens)}, 1);
  x = transformer->forward(apply_layer_norm(ln_pre, x));      // [N, 1 + g^2, W] in
  return apply_layer_norm(ln_post, x.select(1, 0)).mm(proj);  // [N, E]
}

TextTransformerImpl::TextTransformerImpl(const TextGeometry& g,
                                         std::shared_ptr<const LinearKernel> kernel)
    : geometry_(g), kernel_(kernel) {
  token_embedding = register_module("token_embedding", torch::nn::Embedding(g.vocab_size, g.width));
  positional_embedding =
      register_parameter("positional_embedding", at::zeros({g.context_length, g.width}));
  transformer = register_module("transformer", Transformer(g.width, g.layers, g.heads, kernel));
  ln_final = register_module("ln_final", layer_norm(g.width));
  text_projection = register_parameter("text_projection", at::zeros({g.width, g.embed_dim}));
}

at::Tensor TextTransformerImpl::forward(const at::Tensor& tokens) {
  return forward_embeddings(at::embedding(token_embedding->weight, tokens), tokens.argmax(-1));
}

at::Tensor TextTransformerImpl::forward_embeddings(const at::Tensor& embeddings,
                                                   const at::Tensor& read_at) {
  const int64_t n = embeddings.size(0), len = embeddings.size(1);
  at::Tensor x = embeddings + positional_embedding.narrow(0, 0, len);  // [N, L, W]
  x = transformer->forward(x, causal_mask(len, x.options()));
  // LayerNorm works row by row, so only the rows that are read need it.
  const at::Tensor rows = x.index({at::arange(n, read_at.options()), read_at});  // [N, W]
  return apply_layer_norm(ln_final, rows).mm(text_projection);                   // [N, E]
}

ClipModelImpl::ClipModelImpl(const ModelGeometry& geometry)
    : geometry_(geometry), kernel_(std::make_shared<LinearKernel>()) {
  if (geometry.vision.resnet())
    visual_resnet = register_module("visual", ModifiedResNet(geometry.vision, kernel_));
  else
    visual = register_module("visual", VisionTransformer(geometry.vision, kernel_));
  text = register_module("text", TextTransformer(geometry.text, kernel_));
  logit_scale = register_parameter("logit_scale", at::full({}, std::log(1.0 / 0.07)));
}

at::Tensor ClipModelImpl::encode_image(const at::Tensor& images) {
  return visual ? visual->forward(images) : visual_resnet->forward(images);
}

torch::nn::Module& ClipModelImpl::image_tower() {
  if (visual) return *visual;
  return *visual_resnet;
}

void ClipModelImpl::set_kernel(const LinearKernel& kernel) {
  kernel_->onednn = kernel.onednn;
  kernel_->bf16 = kernel.bf16;
  kernel_->packed_vision = kernel.packed_vision;
  kernel_->channels_last = kernel.onednn;
  kernel_->packed.clear();
  kernel_->vision.reset();
  // The packed kernels implement the ViT tower only; the ResNet tower runs on LibTorch's
  // convolutions (oneDNN on CPU).
  if (visual && kernel.packed_vision && !kernel.bf16 && PackedVision::usable(*visual)) {
    at::NoGradGuard no_grad;
    kernel_->vision = std::make_shared<const PackedVision>(*visual);
  }
  if (!kernel.bf16) return;
  // bf16 copies of the matrices that go through linear(), made once instead of per call. Keyed
  // by data pointer because the patch embedding is used through a view of the conv weight.
  // The ResNet tower's convolutions are not among them: they stay fp32.
  static const char* const kLinearWeights[] = {
      "in_proj_weight", "out_proj.weight", "c_fc.weight",   "c_proj.weight",
      "q_proj.weight",  "k_proj.weight",   "v_proj.weight", "visual.conv1.weight"};
  for (const auto& item : named_parameters()) {
    for (const char* suffix : kLinearWeights) {
      const std::string& name = item.key();
      if (!visual && name == "visual.conv1.weight") continue;  // the ResNet stem's convolution
      const std::size_t len = std::char_traits<char>::length(suffix);
      if (name.size() >= len && name.compare(name.size() - len, len, suffix) == 0) {
        const at::Tensor& p = item.value();
        kernel_->packed[p.data_ptr()] = p.detach().reshape({p.size(0), -1}).to(at::kBFloat16);
      }
    }
  }
}

at::Tensor clip_normalize(const at::Tensor& rgb01) {
  const auto options = rgb01.options().dtype(at::kFloat);
  const at::Tensor mean = at::tensor({0.48145466, 0.4578275, 0.40821073}, options).view({3, 1, 1});
  const at::Tensor std = at::tensor({0.26862954, 0.26130258, 0.27577711}, options).view({3, 1, 1});
  return (rgb01 - mean) / std;
}

}  // namespace hesp::clip

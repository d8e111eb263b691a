// SPDX-License-Identifier: LGPL-2.1-or-later
// OpenAI CLIP (ViT or ResNet image tower + text transformer) as LibTorch modules. Parameter names
// follow OpenAI's checkpoints, with the text tower's tensors under "text." (OpenAI keeps them at
// the top level); clip_checkpoint.cpp is the one place that maps checkpoint names onto these
// modules.
//
// Activations are batch-first ([N, L, W]); OpenAI's code is sequence-first, which changes nothing
// for the weights. The linear layers can run through oneDNN (see LinearKernel), which on CPU is
// where almost all of the time goes.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>

#include "clip/clip_resnet.h"

namespace hesp::clip {

class PackedVision;

// Which image tower a checkpoint has: a vision transformer (ViT-B/32 ...) or OpenAI's modified
// ResNet (RN50 ...; clip_resnet.h).
enum class VisionTower { kViT, kResNet };

struct VisionGeometry {
  VisionTower tower = VisionTower::kViT;
  int64_t image_size = 224;
  int64_t patch_size = 32;  // ViT only; 0 for the ResNet tower
  // ViT: the transformer's width. ResNet: the first stage's bottleneck width (64 for RN50); the
  // last stage puts out 32 x width channels, the attention pool's width.
  int64_t width = 768;
  int64_t layers = 12;  // ViT: residual blocks. ResNet: bottlenecks of all four stages
  int64_t heads = 12;   // ViT: per block. ResNet: the attention pool's
  int64_t embed_dim = 512;
  std::array<int64_t, 4> stage_blocks{};  // ResNet only: bottlenecks per stage (3, 4, 6, 3 in RN50)
  bool resnet() const { return tower == VisionTower::kResNet; }
  // Side of the token grid: ViT patches, or the ResNet's last feature map (input / 32).
  int64_t grid() const { return resnet() ? image_size / 32 : image_size / patch_size; }
};

struct TextGeometry {
  int64_t context_length = 77;
  int64_t vocab_size = 49408;
  int64_t width = 512;
  int64_t layers = 12;
  int64_t heads = 8;
  int64_t embed_dim = 512;
};

struct ModelGeometry {
  VisionGeometry vision;
  TextGeometry text;
};

// How matrix products with weights run. Shared by all layers of one model and changed only
// before inference starts.
struct LinearKernel {
  // oneDNN's fp32 GEMM (via ATen's mkldnn ops, CPU only). Debian's LibTorch sends at::linear to
  // OpenBLAS, whose worker threads spin against LibTorch's OpenMP threads; oneDNN runs on the
  // OpenMP pool and uses AVX-512 where the CPU has it.
  bool onednn = false;
  // Products in bfloat16 with fp32 accumulation (oneDNN, CPUs with AVX-512 BF16); residual stream,
  // LayerNorm and softmax stay fp32.
  bool bf16 = false;
  // fp32 image tower through hesp's own kernels (packed_vision.h) when the CPU has AVX2 + FMA,
  // with gradients off; takes precedence over onednn for the image tower.
  bool packed_vision = false;
  // bf16 copies of the weights, keyed by the fp32 weight's data pointer (filled by set_kernel).
  std::unordered_map<const void*, at::Tensor> packed;
  // ResNet tower: convolutions on channels-last (NHWC) activations, oneDNN's fast layout on CPU.
  // Set by set_kernel together with onednn.
  bool channels_last = false;
  // The packed image tower (filled by set_kernel when packed_vision is asked for and usable).
  std::shared_ptr<const PackedVision> vision;
};

// The inference kernel of a precision choice (models::TowerKernel): oneDNN products, bf16 ones
// when asked, and for fp32 the packed image tower where the CPU runs it. Packs are calibrated and
// run through this one choice, so their thresholds hold.
LinearKernel inference_kernel(bool onednn, bool bf16);

// y = x W^T + b over the last dimension of x, through the configured kernel.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                  const LinearKernel& kernel);

// Multi-head self-attention with packed q/k/v projections, as torch.nn.MultiheadAttention
// stores them (in_proj_weight rows: q, then k, then v).
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t width, int64_t heads, std::shared_ptr<const LinearKernel> kernel);
  // x [N, L, W], additive mask [L, L] or undefined -> [N, L, W]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);

  at::Tensor in_proj_weight;  // [3W, W]
  at::Tensor in_proj_bias;    // [3W]
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t heads_;
  std::shared_ptr<const LinearKernel> kernel_;
};
TORCH_MODULE(Attention);

// c_fc -> QuickGELU (x * sigmoid(1.702 x)) -> c_proj.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t width, std::shared_ptr<const LinearKernel> kernel);
  // [N, L, W] -> [N, L, W]
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};

 private:
  std::shared_ptr<const LinearKernel> kernel_;
};
TORCH_MODULE(Mlp);

// Pre-LN residual block: x += attn(ln_1(x)); x += mlp(ln_2(x)).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t width, int64_t heads, std::shared_ptr<const LinearKernel> kernel);
  // [N, L, W] -> [N, L, W]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);

  torch::nn::LayerNorm ln_1{nullptr};
  Attention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualBlock);

class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(int64_t width, int64_t layers, int64_t heads,
                  std::shared_ptr<const LinearKernel> kernel);
  // [N, L, W] -> [N, L, W]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask = {});

  torch::nn::ModuleList resblocks{nullptr};
};
TORCH_MODULE(Transformer);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  VisionTransformerImpl(const VisionGeometry& geometry, std::shared_ptr<const LinearKernel> kernel);
  // Normalised images [N, 3, S, S] -> projected image embeddings [N, E] (not unit length).
  at::Tensor forward(const at::Tensor& images);
  const VisionGeometry& geometry() const { return geometry_; }

  torch::nn::Conv2d conv1{nullptr};  // [W, 3, p, p], stride p, no bias: the patch embedding
  at::Tensor class_embedding;        // [W]
  at::Tensor positional_embedding;   // [grid^2 + 1, W]
  torch::nn::LayerNorm ln_pre{nullptr};
  Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_post{nullptr};
  at::Tensor proj;  // [W, E], used as x @ proj

 private:
  VisionGeometry geometry_;
  std::shared_ptr<const LinearKernel> kernel_;
};
TORCH_MODULE(VisionTransformer);

class TextTransformerImpl : public torch::nn::Module {
 public:
  TextTransformerImpl(const TextGeometry& geometry, std::shared_ptr<const LinearKernel> kernel);
  // Token ids [N, L] (int64, L <= context length) -> projected text embeddings [N, E], read at
  // each row's end token (its largest id, as in the reference).
  at::Tensor forward(const at::Tensor& tokens);
  // Token embeddings [N, L, W] (e.g. with learned prompt vectors spliced in) and the position to
  // read per row [N] (int64) -> [N, E]. Positional embeddings are added here.
  at::Tensor forward_embeddings(const at::Tensor& embeddings, const at::Tensor& read_at);
  const TextGeometry& geometry() const { return geometry_; }

  torch::nn::Embedding token_embedding{nullptr};  // [vocab, W]
  at::Tensor positional_embedding;                // [context, W]
  Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};
  at::Tensor text_projection;  // [W, E]

 private:
  TextGeometry geometry_;
  std::shared_ptr<const LinearKernel> kernel_;
};
TORCH_MODULE(TextTransformer);

class ClipModelImpl : public torch::nn::Module {
 public:
  explicit ClipModelImpl(const ModelGeometry& geometry);
  const ModelGeometry& geometry() const { return geometry_; }

  // Chooses how linear layers run from now on (call before inference, not during).
  void set_kernel(const LinearKernel& kernel);
  const LinearKernel& kernel() const { return *kernel_; }

  // Normalised images [N, 3, S, S] -> projected image embeddings [N, E], through whichever image
  // tower the model has.
  at::Tensor encode_image(const at::Tensor& images);
  // The image tower as a module (its parameters, train/eval mode), whichever it is.
  torch::nn::Module& image_tower();

  // Exactly one of the two image towers is set (geometry().vision.tower says which); both are
  // registered as "visual", so parameter names are OpenAI's either way.
  VisionTransformer visual{nullptr};
  ModifiedResNet visual_resnet{nullptr};
  TextTransformer text{nullptr};
  at::Tensor logit_scale;  // scalar, log of the softmax temperature's inverse

 private:
  ModelGeometry geometry_;
  std::shared_ptr<LinearKernel> kernel_;
};
TORCH_MODULE(ClipModel);

// Upper-triangular -inf mask that keeps each text position from seeing later ones: [L, L].
at::Tensor causal_mask(int64_t length, const at::TensorOptions& options);

// CLIP's per-channel normalisation of RGB in [0, 1]; channels on dimension -3.
at::Tensor clip_normalize(const at::Tensor& rgb01);

}  // namespace hesp::clip

// SPDX-License-Identifier: LGPL-2.1-or-later
// The CLIP image tower for fp32 inference on x86 CPUs with AVX2 + FMA: every matrix packed once
// into the layout of hesp's own product kernel (vit_kernels.h), bias, QuickGELU and the residual
// adds applied to the product's output tiles, attention computed per head straight from the
// q/k/v projection, and four activation buffers per call instead of a tensor per operation.
// A snapshot of the weights: build it after loading them, use it with gradients off.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <mutex>
#include <vector>

namespace hesp::clip {

class VisionTransformerImpl;

class PackedVision {
 public:
  // True when this CPU runs the kernels and the tower's shapes suit them (fp32, CPU tensors).
  static bool usable(const VisionTransformerImpl& vit);
  explicit PackedVision(const VisionTransformerImpl& vit);

  // Normalised images [N, 3, S, S] float -> projected embeddings [N, E], as
  // VisionTransformerImpl::forward.
  at::Tensor forward(const at::Tensor& images) const;

  // A weight [n, k] (y = x W^T) in the product's layout.
  struct Matrix {
    at::Tensor packed;
    int64_t n = 0, k = 0;
  };

 private:
  struct Layer {
    at::Tensor ln_1_weight, ln_1_bias, ln_2_weight, ln_2_bias;
    Matrix in_proj, out_proj, c_fc, c_proj;
    at::Tensor in_proj_bias, out_proj_bias, c_fc_bias, c_proj_bias;
  };
  int64_t image_size_, patch_size_, width_, heads_, embed_dim_;
  Matrix patch_embed_, proj_;
  at::Tensor class_embedding_, positional_embedding_;
  at::Tensor ln_pre_weight_, ln_pre_bias_, ln_post_weight_, ln_post_bias_;
  std::vector<Layer> layers_;
  // Activation buffers, kept between calls (fresh large allocations cost page faults on every
  // call); grown to the largest batch seen. A call that finds them in use allocates its own.
  struct Workspace;
  mutable std::mutex workspace_mutex_;
  mutable std::shared_ptr<Workspace> workspace_;
};

}  // namespace hesp::clip

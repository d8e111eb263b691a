// SPDX-License-Identifier: LGPL-2.1-or-later
// The LibTorch side of the linear probe (hesp/linear_probe.h): clip embeddings from a frozen CLIP
// image tower, feature standardisation and multinomial logistic regression fitted full-batch.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>

#include "clip/clip_model.h"
#include "train/clip_batches.h"

namespace hesp::train {

// One unit-length embedding per clip, [N, E] float32 on the CPU, in item order: every frame through
// the image tower (CLIP-normalised), the mean over the clip's frames, scaled to unit length.
// `done` (may be empty) hears the clips embedded so far after each batch.
at::Tensor clip_embeddings(clip::ClipModelImpl& clip, const ClipBatches& batches,
                           const std::function<void(std::int64_t done)>& done = {});

// Per-feature mean and standard deviation of a training set; features that do not vary there
// are centred and left unscaled.
struct Standardizer {
  at::Tensor mean;  // [D]
  at::Tensor std;   // [D], 1 where the training set has none
  at::Tensor apply(const at::Tensor& x) const { return (x - mean) / std; }
};
Standardizer fit_standardizer(const at::Tensor& x);

struct LogisticRegression {
  at::Tensor weight;                             // [K, D]
  at::Tensor bias;                               // [K]
  double loss = 0.0;                             // penalised training loss at the end
  at::Tensor logits(const at::Tensor& x) const;  // [N, D] -> [N, K]
};

struct LogisticRegressionOptions {
  int iterations = 200;  // L-BFGS iterations, each over the whole set
  double learning_rate = 1.0;
  double weight_decay = 1e-3;  // mean cross-entropy + weight_decay/2 * |W|^2 (biases free)
  std::uint64_t seed = 0;      // initial weights
};

// Fits K-class logistic regression to features x [N, D] and labels [N] (int64, 0..K-1) with
// L-BFGS and a strong-Wolfe line search: deterministic for the seed and the thread count.
LogisticRegression fit_logistic_regression(const at::Tensor& x, const at::Tensor& labels,
                                           std::int64_t classes,
                                           const LogisticRegressionOptions& options);

}  // namespace hesp::train

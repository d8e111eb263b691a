// SPDX-License-Identifier: LGPL-2.1-or-later
// The pieces of HESP training below hesp::train_hesp (include/hesp/hesp_training.h): the
// optimiser, the prompts' fixed-length steps and one training step, exposed for the tests.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "nets/hesp_network.h"
#include "train/hesp_losses.h"

namespace hesp::train {

// SGD with momentum and weight decay as torch.optim.SGD computes it (dampening 0, no Nesterov):
// d = g + wd * p; b = d on the first step, else b = momentum * b + d; p -= lr * b. Parameters
// without a gradient are skipped. The momentum buffers are public so they can be saved.
class HespSgd {
 public:
  HespSgd(std::vector<at::Tensor> parameters, double momentum, double weight_decay);
  void step(double learning_rate);

  std::vector<at::Tensor> parameters;
  std::vector<at::Tensor> buffers;  // undefined until a parameter's first step

 private:
  double momentum_;
  double weight_decay_;
};

// What SGD trains. Paper: text context, radius, temporal attention. Released: the radius only
// (the released code clears the context's gradient before every step, and mean pooling has no
// parameters). The visual prompts are never in it: they move by prompt_step alone.
std::vector<at::Tensor> sgd_parameters(nets::HespNetworkImpl& network);

// p -= length * g / |g| with g = p.grad(); nothing when the gradient is missing or zero.
void prompt_step(const at::Tensor& prompt, double length);

// 50 x image_size / 224 (see HespTrainOptions::prompt_step).
double default_prompt_step(int64_t image_size);

// Learning rate of 0-based `epoch`: base x 0.1 per milestone reached, the milestones being
// ceil(0.3 E), ceil(0.6 E), ceil(0.9 E) for E epochs (30, 60, 90 for 100 epochs).
double hesp_learning_rate(double base, int epoch, int epochs);

// One optimisation step on a batch: forward, the five losses, backward, SGD, the prompts' steps.
// frames01 [B, T, 3, S, S] in [0, 1] on the network's device, labels [B] int64.
HespLoss hesp_train_step(nets::HespNetworkImpl& network, HespSgd& sgd, const at::Tensor& frames01,
                         const at::Tensor& labels, double learning_rate, double prompt_length);

}  // namespace hesp::train

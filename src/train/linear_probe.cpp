// SPDX-License-Identifier: LGPL-2.1-or-later
// The linear probe: hesp::run_linear_probe and the pieces it is made of.
#include "train/linear_probe.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/optim/lbfgs.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "clip/clip_checkpoint.h"
#include "hesp/error.h"
#include "hesp/linear_probe.h"
#include "models/precision.h"

namespace hesp {

namespace train {

at::Tensor clip_embeddings(clip::ClipModelImpl& clip, const ClipBatches& batches,
                           const std::function<void(std::int64_t)>& done) {
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> out;
  std::int64_t clips = 0;
  PrefetchedEpoch epoch(batches, 0);
  for (std::int64_t i = 0; i < batches.batches_per_epoch(); ++i) {
    const ClipBatch batch = epoch.next();
    const int64_t b = batch.frames.size(0), t = batch.frames.size(1);
    const at::Tensor frames = clip::clip_normalize(batch.frames.flatten(0, 1));
    const at::Tensor f = clip.encode_image(frames).view({b, t, -1});
    // The mean of the raw frame embeddings, then unit length: how the clip-zeroshot packs and
    // HESP's released pooling turn frames into the one vector they compare with text, so the
    // probe measures the clip features those classifiers see. (Normalising each frame first
    // would only change how much a frame with a long embedding weighs in the mean.)
    const at::Tensor v = f.mean(1);
    out.push_back(v / v.norm(2, -1, true).clamp_min(1e-12));
    clips += b;
    if (done) done(clips);
  }
  return at::cat(out).to(at::kFloat).contiguous();
}

Standardizer fit_standardizer(const at::Tensor& x) {
  Standardizer s;
  s.mean = x.mean(0);
  const at::Tensor sd = x.std(0, /*unbiased=*/false);
  // A feature constant over the training set carries nothing; dividing its (rounding-level)
  // spread would blow noise up to unit size.
  s.std = at::where(sd > 1e-6, sd, at::ones_like(sd));
  return s;
}

at::Tensor LogisticRegression::logits(const at::Tensor& x) const {
  return at::addmm(bias, x, weight.t());
}

LogisticRegression fit_logistic_regression(const at::Tensor& x, const at::Tensor& labels,
                                           std::int64_t classes,
                                           const LogisticRegressionOptions& o) {
  // The caller may be scoring under NoGradGuard; L-BFGS needs the gradients.
  c10::AutoGradMode grad(true);
  const int64_t d = x.size(1);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  at::Tensor w = (at::randn({classes, d}, gen, x.options()) * 0.01).requires_grad_(true);
  at::Tensor b = at::zeros({classes}, x.options()).requires_grad_(true);
  torch::optim::LBFGS lbfgs({w, b}, torch::optim::LBFGSOptions(o.learning_rate)
                                        .max_iter(o.iterations)
                                        .history_size(20)
                                        .tolerance_grad(1e-7)
                                        .tolerance_change(1e-10)
                                        .line_search_fn("strong_wolfe"));
  const auto loss_of = [&] {
    return at::cross_entropy_loss(at::addmm(b, x, w.t()), labels) +
           0.5 * o.weight_decay * w.pow(2).sum();
  };
  lbfgs.step([&] {
    lbfgs.zero_grad();
    at::Tensor loss = loss_of();
    loss.backward();
    return loss;
  });
  LogisticRegression out;
  c10::NoGradGuard no_grad;
  out.weight = w.detach();
  out.bias = b.detach();
  out.loss = loss_of().item<double>();
  return out;
}

}  // namespace train

namespace {

void check_items(const std::vector<data::AnnotationItem>& items, int k, const char* what) {
  for (const auto& it : items)
    if (it.label < 0 || it.label >= k)
      throw SettingsError(std::string(what) + " item " + it.source + ":" + std::to_string(it.line) +
                          " (" + it.rel_path + ") has label " + std::to_string(it.label) +
                          ", outside the " + std::to_string(k) + " classes 0.." +
                          std::to_string(k - 1));
}

void validate(const LinearProbeOptions& o) {
  if (o.class_names.empty()) throw SettingsError("the linear probe needs at least one class");
  std::set<std::string> seen;
  for (const auto& n : o.class_names) {
    if (n.empty()) throw SettingsError("a class name is empty");
    if (!seen.insert(n).second) throw SettingsError("class '" + n + "' is named twice");
  }
  if (o.train_items.empty()) throw SettingsError("no training clips");
  if (o.test_items.empty()) throw SettingsError("no test clips");
  const int k = static_cast<int>(o.class_names.size());
  check_items(o.train_items, k, "training");
  check_items(o.test_items, k, "test");
  if (o.frames < 1) throw SettingsError("frames per clip must be positive");
  if (o.epochs < 1) throw SettingsError("epochs must be positive");
  if (o.batch_size < 1) throw SettingsError("the batch size must be positive");
  if (!(o.learning_rate > 0.0)) throw SettingsError("the learning rate must be positive");
  if (std::isnan(o.weight_decay))
    throw SettingsError("weight decay must be a number (negative: chosen by cross-validation)");
  if (o.threads < 0 || o.loader_threads < 1)
    throw SettingsError("threads must be >= 0 and loader threads >= 1");
  if (!std::filesystem::exists(o.clip_weights))
    throw FileNotFoundError("CLIP weights '" + o.clip_weights + "' not found");
}

// Held-out accuracy of each candidate penalty over 4 folds of the (standardised) training
// features: (penalty, mean, standard error of the mean). Folds are a seeded shuffle cut into
// quarters, so the choice is reproducible.
struct PenaltyScore {
  double penalty, mean, standard_error;
};
std::vector<PenaltyScore> cross_validate_penalty(const at::Tensor& x, const at::Tensor& y, int k,
                                                 train::LogisticRegressionOptions fit) {
  constexpr int kFolds = 4;
  const int64_t n = x.size(0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(fit.seed ^ 0x5eedf01dull);
  const at::Tensor order = at::randperm(n, gen, at::kLong);
  std::vector<PenaltyScore> out;
  for (double penalty : {1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0}) {
    fit.weight_decay = penalty;
    std::vector<double> accuracy;
    for (int f = 0; f < kFolds; ++f) {
      const at::Tensor held = order.slice(0, f * n / kFolds, (f + 1) * n / kFolds);
      const at::Tensor kept =
          at::cat({order.slice(0, 0, f * n / kFolds), order.slice(0, (f + 1) * n / kFolds, n)});
      if (held.numel() == 0 || kept.numel() == 0) continue;
      const auto model =
          train::fit_logistic_regression(x.index_select(0, kept), y.index_select(0, kept), k, fit);
      c10::NoGradGuard no_grad;
      const at::Tensor pred = model.logits(x.index_select(0, held)).argmax(1);
      accuracy.push_back(pred.eq(y.index_select(0, held)).to(at::kDouble).mean().item<double>());
    }
    double mean = 0.0, var = 0.0;
    for (double a : accuracy) mean += a / accuracy.size();
    for (double a : accuracy) var += (a - mean) * (a - mean);
    const double se =
        accuracy.size() > 1 ? std::sqrt(var / (accuracy.size() - 1) / accuracy.size()) : 0.0;
    out.push_back({penalty, mean, se});
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

at::Tensor labels_of(const std::vector<data::AnnotationItem>& items) {
  std::vector<int64_t> labels;
  for (const auto& it : items) labels.push_back(it.label);
  return at::tensor(labels, at::kLong);
}

}  // namespace

LinearProbeReport run_linear_probe(const LinearProbeOptions& o) {
  validate(o);
  const auto started = std::chrono::steady_clock::now();
  if (o.threads > 0) at::set_num_threads(o.threads);
  const int k = static_cast<int>(o.class_names.size());

  clip::ClipModel clip = clip::load_clip_checkpoint(o.clip_weights);
  // The fp32 inference kernel packs run with: the probe sees the features inference computes.
  const models::TowerKernel kernel = models::calibration_kernel("fp32", models::kernel_host("cpu"));
  clip->set_kernel(clip::inference_kernel(kernel.onednn, kernel.bf16));
  const clip::ModelGeometry& geometry = clip->geometry();

  data::ClipLoaderOptions loader;
  loader.num_segments = o.frames;
  loader.mode = data::SamplingMode::kTest;
  loader.augment.size = static_cast<int>(geometry.vision.image_size);
  loader.augment.train = false;
  loader.seed = o.seed;
  train::BatchOptions batching;
  batching.batch_size = o.batch_size;
  batching.threads = o.loader_threads;

  const auto embed = [&](const std::vector<data::AnnotationItem>& items, const char* set) {
    const train::ClipBatches batches(items, loader, batching);
    return train::clip_embeddings(*clip, batches, [&](std::int64_t done) {
      if (o.progress) o.progress({"features", set, done, batches.size()});
    });
  };
  const auto features_started = std::chrono::steady_clock::now();
  const at::Tensor train_raw = embed(o.train_items, "train");
  const at::Tensor test_raw = embed(o.test_items, "test");
  LinearProbeReport r;
  r.feature_seconds = seconds_since(features_started);

  const auto fit_started = std::chrono::steady_clock::now();
  const train::Standardizer standardizer = train::fit_standardizer(train_raw);
  const at::Tensor train_x = standardizer.apply(train_raw);
  const at::Tensor test_x = standardizer.apply(test_raw);
  const at::Tensor train_y = labels_of(o.train_items);
  const at::Tensor test_y = labels_of(o.test_items);
  train::LogisticRegressionOptions fit;
  fit.iterations = o.epochs;
  fit.learning_rate = o.learning_rate;
  fit.weight_decay = o.weight_decay;
  fit.seed = o.seed;
  if (o.weight_decay < 0.0) {
    const std::vector<PenaltyScore> scores = cross_validate_penalty(train_x, train_y, k, fit);
    // The one-standard-error rule: the largest penalty whose held-out accuracy is within one
    // standard error of the best. On a few hundred clips the fold accuracies differ by noise,
    // and the best mean alone often picks a penalty that lets the probe memorise.
    const PenaltyScore* best = &scores.front();
    for (const auto& s : scores)
      if (s.mean > best->mean) best = &s;
    fit.weight_decay = best->penalty;
    for (const auto& s : scores) {
      if (s.mean >= best->mean - best->standard_error)
        fit.weight_decay = std::max(fit.weight_decay, s.penalty);
      r.selection.push_back({s.penalty, s.mean});
    }
  }
  r.weight_decay = fit.weight_decay;
  const train::LogisticRegression model = train::fit_logistic_regression(train_x, train_y, k, fit);
  if (o.progress) o.progress({"fit", "", 0, 0});

  c10::NoGradGuard no_grad;
  const at::Tensor train_pred = model.logits(train_x).argmax(1);
  const at::Tensor test_pred = model.logits(test_x).argmax(1);
  r.train_accuracy = train_pred.eq(train_y).to(at::kDouble).mean().item<double>();
  r.classes = o.class_names;
  for (const auto& name : o.class_names) r.per_class.push_back({name, 0, 0});
  const auto* pred = test_pred.data_ptr<int64_t>();
  int correct = 0;
  for (std::size_t i = 0; i < o.test_items.size(); ++i) {
    LinearProbeClassResult& c = r.per_class[o.test_items[i].label];
    ++c.clips;
    if (pred[i] == o.test_items[i].label) {
      ++c.correct;
      ++correct;
    }
  }
  r.test_accuracy = double(correct) / double(o.test_items.size());
  int present = 0;
  for (const auto& c : r.per_class)
    if (c.clips > 0) {
      r.test_uar += c.accuracy();
      ++present;
    }
  r.test_uar /= present;  // > 0: there is at least one test clip
  r.chance = 1.0 / k;
  r.final_loss = model.loss;
  r.train_clips = static_cast<int>(o.train_items.size());
  r.test_clips = static_cast<int>(o.test_items.size());
  r.feature_dim = static_cast<int>(train_raw.size(1));
  r.image_tower = geometry.vision.resnet() ? "resnet" : "vit";
  r.image_size = static_cast<int>(geometry.vision.image_size);
  r.fit_seconds = seconds_since(fit_started);
  r.seconds = seconds_since(started);
  return r;
}

}  // namespace hesp

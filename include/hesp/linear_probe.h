// SPDX-License-Identifier: LGPL-2.1-or-later
// A linear probe of a frozen CLIP image tower (`hesp train probe`): clip embeddings computed once,
// then multinomial logistic regression on them, scored on test clips. The standard measure of how
// much a frozen backbone's features already say about the classes, without training the backbone
// or a prompt. Torch-free: the CLI includes this, LibTorch stays in the library.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hesp/dataset.h"

namespace hesp {

// Progress while clip embeddings are computed (phase "features", once per batch, for the "train"
// and then the "test" set) and once when the classifier is fitted (phase "fit").
struct LinearProbeProgress {
  std::string phase;
  std::string set;  // "train" or "test" (phase "features")
  std::int64_t clips_done = 0;
  std::int64_t clips_total = 0;
};

using LinearProbeProgressCallback = std::function<void(const LinearProbeProgress&)>;

struct LinearProbeOptions {
  // CLIP weights: an OpenAI .pt (ViT or ResNet image tower), a torch.save'd state dict with the
  // same names, or a model pack holding "clip.*" tensors (clip-zeroshot, emoclip, hesp).
  std::string clip_weights;
  // The K classes; class_names[i] is the class of label i.
  std::vector<std::string> class_names;
  // Clips with labels 0..K-1 (hesp::data::apply_split's `known` items).
  std::vector<data::AnnotationItem> train_items;
  std::vector<data::AnnotationItem> test_items;

  int frames = 8;  // T: the centre frame of each of T equal segments, no augmentation
  // L-BFGS iterations over the whole training set (full batch); the problem is convex, so a few
  // hundred reach its optimum on data sets of thousands of clips.
  int epochs = 200;
  double learning_rate = 1.0;  // L-BFGS step scale (its line search sets the actual step)
  // L2 penalty on the weights (not the biases): mean cross-entropy + weight_decay/2 * |W|^2.
  // Negative (the default): chosen by 4-fold cross-validation on the training clips among
  // 1e-4, 1e-3, ..., 10 (as CLIP's probes sweep theirs), the largest penalty within one standard
  // error of the best held-out accuracy; a fixed small penalty lets a probe on a few hundred
  // clips memorise them and score near chance on the test clips.
  double weight_decay = -1.0;
  // Seeds the classifier's initial weights. The penalised problem has one optimum, so the seed
  // moves the result only within the solver's tolerance; the same seed gives the same bits.
  std::uint64_t seed = 0;
  int threads = 0;         // LibTorch intra-op threads; 0 = leave the process setting
  int loader_threads = 2;  // clips decoded in parallel
  int batch_size = 32;     // clips per forward pass of the image tower

  LinearProbeProgressCallback progress;
};

struct LinearProbeClassResult {
  std::string name;
  int clips = 0;    // test clips of the class
  int correct = 0;  // of them classified as the class
  double accuracy() const { return clips > 0 ? double(correct) / clips : 0.0; }
};

struct LinearProbeReport {
  double train_accuracy = 0.0;  // fraction of training clips classified right, in [0, 1]
  double test_accuracy = 0.0;   // the same on the test clips (WAR)
  double test_uar = 0.0;        // mean accuracy over classes with test clips (UAR)
  double chance = 0.0;          // 1 / K: the accuracy of a uniform guess
  double final_loss = 0.0;      // penalised training loss at the end
  double weight_decay = 0.0;    // the penalty used (given, or chosen)
  // The cross-validation: each candidate penalty's mean held-out accuracy (empty when given).
  std::vector<std::pair<double, double>> selection;
  std::vector<std::string> classes;
  std::vector<LinearProbeClassResult> per_class;  // test clips, label order
  int train_clips = 0;
  int test_clips = 0;
  int feature_dim = 0;
  std::string image_tower;  // "vit" or "resnet"
  int image_size = 0;
  double feature_seconds = 0.0;  // computing the embeddings of both sets
  double fit_seconds = 0.0;      // fitting and scoring the classifier
  double seconds = 0.0;          // the whole run, loading CLIP included
};

// Runs the probe. Throws SettingsError for bad options (no classes, a class named twice, no
// training or test items, an item whose label is outside 0..K-1, a non-positive count or rate),
// FileNotFoundError / CorruptFileError for missing or bad CLIP weights (a pack without "clip.*"
// tensors) or media.
LinearProbeReport run_linear_probe(const LinearProbeOptions& options);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// Running a model pack over an open-set test set: every known and unknown clip is sampled as at
// test time (segment centres, no augmentation), classified, and its logits over the split's known
// classes go into a PredictionSet that hesp::eval scores like any prediction file. Torch-free.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hesp/dataset.h"
#include "hesp/expression_model.h"
#include "hesp/predictions.h"

namespace hesp::eval {

struct DatasetPredictionOptions {
  // Frames per clip; 0 = the pack's frames_per_clip.
  int frames = 0;
  int batch_size = 16;  // clips per classify() call
  int loader_threads = 2;
  // The known classes in label order (split.known_names()). Their logits are looked up in the
  // model's classes by name (case-insensitive), so a pack with more classes than the split (a
  // zero-shot pack describing all classes) is scored on the known ones only, as open-set
  // evaluation requires.
  std::vector<std::string> known_names;
  // Open-set score rule; empty = the pack's own rule.
  std::string score_rule;
  std::string name;  // PredictionSet::name
  std::function<void(int done, int total)> progress;
};

// Throws SettingsError when a known class is not among the model's classes or the pack's score
// rule has no counterpart in hesp::eval, and what loading the clips throws (file:line messages).
PredictionSet predict_dataset(ExpressionModel& model, const data::SplitItems& items,
                              const DatasetPredictionOptions& options);

}  // namespace hesp::eval

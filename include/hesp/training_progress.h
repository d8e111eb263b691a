// SPDX-License-Identifier: LGPL-2.1-or-later
// What a trainer reports while it runs: loss terms per step, throughput and the time left.
// Torch-free: the CLI prints these.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace hesp::train {

struct TrainingProgress {
  std::string phase;  // "train", "validate", ...
  int epoch = 0;      // 1-based
  int epochs = 0;
  std::int64_t step = 0;                // steps done in this run, 1-based
  std::int64_t total_steps = 0;         // in this run
  double loss = 0.0;                    // of the last step
  std::map<std::string, double> terms;  // named loss terms of the last step
  double clips_per_second = 0.0;        // over this run so far
  double eta_seconds = 0.0;             // for the rest of this run
};

using ProgressCallback = std::function<void(const TrainingProgress&)>;

}  // namespace hesp::train

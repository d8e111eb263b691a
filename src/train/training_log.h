// SPDX-License-Identifier: LGPL-2.1-or-later
// What every trainer reports while it runs: loss terms per step, throughput and the time left.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace hesp::train {

struct TrainingProgress {
  std::string phase;  // "train", "validate", ...
  int epoch = 0;      // 1-based
  int epochs = 0;
  std::int64_t step = 0;         // steps done in this run, 1-based
  std::int64_t total_steps = 0;  // in this run
  double loss = 0.0;             // of the last step
  std::map<std::string, double> terms;  // named loss terms of the last step
  double clips_per_second = 0.0;        // over this run so far
  double eta_seconds = 0.0;             // for the rest of this run
};

using ProgressCallback = std::function<void(const TrainingProgress&)>;

// Keeps time and turns step counts into throughput and ETA.
class StepClock {
 public:
  explicit StepClock(std::int64_t total_steps);
  // Call after each step with the clips it used; fills clips_per_second / eta_seconds / step.
  void step_done(std::int64_t clips, TrainingProgress* progress);

 private:
  std::int64_t total_steps_;
  std::int64_t steps_ = 0;
  std::int64_t clips_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace hesp::train

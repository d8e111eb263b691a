// SPDX-License-Identifier: LGPL-2.1-or-later
// Step timing for the progress reports of hesp/training_progress.h.
#pragma once

#include <chrono>
#include <cstdint>

#include "hesp/training_progress.h"

namespace hesp::train {

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

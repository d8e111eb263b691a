// SPDX-License-Identifier: LGPL-2.1-or-later
#include "train/training_log.h"

#include <algorithm>

namespace hesp::train {

StepClock::StepClock(std::int64_t total_steps)
    : total_steps_(total_steps), start_(std::chrono::steady_clock::now()) {}

void StepClock::step_done(std::int64_t clips, TrainingProgress* progress) {
  ++steps_;
  clips_ += clips;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  progress->step = steps_;
  progress->total_steps = total_steps_;
  progress->clips_per_second = elapsed > 0.0 ? double(clips_) / elapsed : 0.0;
  // The mean step time so far predicts the rest; the first steps are slower (allocations), which
  // makes the early ETA err on the long side.
  const double per_step = elapsed / double(steps_);
  progress->eta_seconds = per_step * double(std::max<std::int64_t>(0, total_steps_ - steps_));
}

}  // namespace hesp::train

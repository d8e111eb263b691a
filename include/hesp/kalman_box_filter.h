// SPDX-License-Identifier: LGPL-2.1-or-later
// A constant-velocity Kalman filter over a box, one frame per step: the state is the centre, width
// and height with a velocity each (8 numbers, as in DeepSORT/ByteTrack), the measurement the four
// box numbers. Noise scales with the box's height, so a big close face may move more pixels per
// frame than a small far one. With a transition that never mixes axes and diagonal noise the 8x8
// filter falls apart into four independent (value, velocity) filters, which is how it is computed:
// the same numbers as the 8x8 matrix algebra, without it.
#pragma once

#include <array>

#include "hesp/image.h"

namespace hesp {

struct KalmanBoxOptions {
  // Standard deviations, as fractions of the box height (DeepSORT's values): of the measured box,
  // and of the process noise on position and velocity per frame.
  float measurement_std = 1.f / 20.f;
  float position_std = 1.f / 20.f;
  float velocity_std = 1.f / 160.f;
  float min_side = 1.f;  // predicted widths and heights never shrink below this (pixels)
};

class KalmanBoxFilter {
 public:
  // Starts at `box`, at rest, with a wide uncertainty on the velocity.
  explicit KalmanBoxFilter(const Box& box, KalmanBoxOptions options = {});

  // One frame forward: the box moves by its velocity. Returns the predicted box.
  Box predict();
  // Folds a measured box of this frame into the estimate. Returns the corrected box.
  Box update(const Box& measured);

  Box box() const;
  // Velocity of the centre, pixels per frame.
  float velocity_x() const { return axes_[0].velocity; }
  float velocity_y() const { return axes_[1].velocity; }

 private:
  struct Axis {
    float value = 0.f, velocity = 0.f;
    float p00 = 0.f, p01 = 0.f, p11 = 0.f;  // covariance of (value, velocity), symmetric
  };
  float height_scale() const;

  KalmanBoxOptions options_;
  std::array<Axis, 4> axes_;  // centre x, centre y, width, height
};

}  // namespace hesp

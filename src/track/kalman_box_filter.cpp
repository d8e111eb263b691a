// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/kalman_box_filter.h"

#include <algorithm>

namespace hesp {

KalmanBoxFilter::KalmanBoxFilter(const Box& box, KalmanBoxOptions options) : options_(options) {
  const float values[4] = {box.center_x(), box.center_y(), box.width, box.height};
  const float h = std::max(options_.min_side, box.height);
  // DeepSORT's start: twice the position noise on the box, ten times the velocity noise, so the
  // first few measurements set the velocity quickly.
  const float pos = 2.f * options_.position_std * h, vel = 10.f * options_.velocity_std * h;
  for (int i = 0; i < 4; ++i) {
    axes_[i].value = values[i];
    axes_[i].p00 = pos * pos;
    axes_[i].p11 = vel * vel;
  }
}

float KalmanBoxFilter::height_scale() const { return std::max(options_.min_side, axes_[3].value); }

Box KalmanBoxFilter::predict() {
  const float h = height_scale();
  const float q_pos = options_.position_std * h, q_vel = options_.velocity_std * h;
  for (auto& a : axes_) {
    a.value += a.velocity;
    // P = F P F^T + Q with F = [[1, 1], [0, 1]].
    a.p00 += 2.f * a.p01 + a.p11 + q_pos * q_pos;
    a.p01 += a.p11;
    a.p11 += q_vel * q_vel;
  }
  // A box whose size shrank for a few frames must not collapse (or turn negative) while its face
  // goes undetected.
  for (int i = 2; i < 4; ++i) {
    if (axes_[i].value < options_.min_side) {
      axes_[i].value = options_.min_side;
      axes_[i].velocity = 0.f;
    }
  }
  return box();
}

Box KalmanBoxFilter::update(const Box& measured) {
  const float z[4] = {measured.center_x(), measured.center_y(), measured.width, measured.height};
  const float r = options_.measurement_std * height_scale();
  for (int i = 0; i < 4; ++i) {
    Axis& a = axes_[i];
    const float s = a.p00 + r * r;
    const float k0 = a.p00 / s, k1 = a.p01 / s;
    const float innovation = z[i] - a.value;
    a.value += k0 * innovation;
    a.velocity += k1 * innovation;
    // P = (I - K H) P, kept symmetric.
    const float p00 = a.p00, p01 = a.p01;
    a.p00 = p00 - k0 * p00;
    a.p01 = p01 - k0 * p01;
    a.p11 = a.p11 - k1 * p01;
  }
  for (int i = 2; i < 4; ++i) axes_[i].value = std::max(options_.min_side, axes_[i].value);
  return box();
}

Box KalmanBoxFilter::box() const {
  const float w = axes_[2].value, h = axes_[3].value;
  return Box{axes_[0].value - w * 0.5f, axes_[1].value - h * 0.5f, w, h};
}

}  // namespace hesp

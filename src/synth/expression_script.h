// SPDX-License-Identifier: LGPL-2.1-or-later
// How an expression unfolds over one clip: the per-class action profiles, the per-clip variation of
// the apex, the onset/apex/offset timing, class-specific dynamics (darting gaze, head shakes) and
// the idle motion every face shows (blinks, sway, gaze wander).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hesp/synth.h"

namespace hesp::synth::detail {

// Index of an expression in expression_names(); throws SettingsError for an unknown name.
int expression_index(const std::string& name);

struct ExpressionScript {
  std::string expression;
  int variant = 0;       // which of the class's variants (see docs/synth.md)
  float strength = 1.f;  // overall intensity factor drawn for this clip
  FaceActions apex;
  ExpressionTiming timing;
  // Gaze that jumps from side to side while the expression lasts (anxiety).
  float dart_amplitude = 0.f;
  float dart_shifts = 0.f;  // half-periods between onset and offset
  float dart_phase = 0.f;
  // Slow head shake (yaw, degrees) while the expression lasts (some disappointed clips).
  float shake_amplitude = 0.f;
  float shake_cycles = 0.f;
};

struct IdleMotion {
  std::vector<float> blink_centres;      // frames
  float blink_half_width = 1.f;          // frames from fully closed to open
  float sway_amp[3] = {0.f, 0.f, 0.f};   // pitch, yaw, roll, degrees
  float sway_freq[3] = {0.f, 0.f, 0.f};  // cycles per frame
  float sway_phase[3] = {0.f, 0.f, 0.f};
  float gaze_amp[2] = {0.f, 0.f};
  float gaze_freq[2] = {0.f, 0.f};
  float gaze_phase[2] = {0.f, 0.f};
  // Head position drift over the clip, in head half-widths.
  float drift[2] = {0.f, 0.f};
};

ExpressionScript make_script(const std::string& expression, std::uint64_t seed,
                             const ClipSettings& settings);
IdleMotion make_idle(std::uint64_t seed, const ClipSettings& settings);

float envelope(const ExpressionTiming& timing, float frame);

// Expression part of the actions at a frame (apex x envelope + dynamics), without idle motion.
FaceActions expression_actions(const ExpressionScript& script, int frame);
// Adds the idle motion of a frame to `actions`.
void add_idle(const IdleMotion& idle, int frame, FaceActions& actions);
// Head position offset at a frame, in head half-widths.
Point idle_drift(const IdleMotion& idle, int frame, int n_frames);

}  // namespace hesp::synth::detail

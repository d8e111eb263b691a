// SPDX-License-Identifier: LGPL-2.1-or-later
// How a frame model's per-frame logits become one clip's logits. A clip that rises from a neutral
// onset to an expressive apex holds mostly neutral frames, so a plain mean lets the onset outvote
// the apex; the other rules look for the frames that carry the expression.
#pragma once

#include <string>
#include <vector>

namespace hesp::models {

enum class FramePooling {
  kMean,        // plain mean of the frames' logits
  kExpressive,  // mean weighted by how far each frame is from neutral: 1 - p(neutral), or the
                // frame's top probability when the model has no neutral class
  kTopHalf,     // mean of the half (rounded up) of the frames that are least neutral
  kPeak,        // the logits of the single frame the model is most confident about
  kSustained,   // an expression that is the top class on at least kSustainedFrames frames wins
                // (the mean of those frames; the one on most frames, then the surest); a clip
                // with none is pooled as kPeak
};

// How many frames of a clip must show an expression for kSustained to take it: one frame alone
// is as likely a blink, a motion blur or the detector's box jumping as an expression.
constexpr int kSustainedFrames = 2;

// The rule frame-logit kinds use when neither the caller nor the pack names one; chosen by
// measurement on sequences that rise from neutral (docs/design.md, "Pooling").
constexpr FramePooling kDefaultFramePooling = FramePooling::kSustained;

// "mean", "expressive", "top-half", "peak", "sustained"; throws SettingsError naming the accepted
// values.
FramePooling parse_frame_pooling(const std::string& name);
const char* frame_pooling_name(FramePooling pooling);
const std::vector<std::string>& frame_pooling_names();

// Pools `count` rows of `classes` logits (row-major) into one row. neutral_class is the index of
// the neutral class, or -1. Deterministic: the same rows give the same bits whatever the batch.
std::vector<double> pool_frame_logits(FramePooling pooling, const float* rows, int count,
                                      int classes, int neutral_class);

}  // namespace hesp::models

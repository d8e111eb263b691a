// SPDX-License-Identifier: LGPL-2.1-or-later
// Per-track expression state of hespinfer: the latest (optionally smoothed) result of each track,
// stamped on every frame of the track until a newer clip result replaces it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/expression_params.h"
#include "hesp/expression_model.h"

namespace hesp::gst {

struct LabelChange {
  guint track_id;
  std::string previous;  // empty for a track's first result
  ExpressionParams now;
};

class ResultStamper {
 public:
  // smoothing in [0,1): weight of the previous class scores in an exponential moving average.
  // forget_frames: a track unseen for this many frames loses its state (bounds memory).
  ResultStamper(double smoothing, std::uint64_t forget_frames, std::size_t max_tracks);

  // A new clip result for a track. Returns the label change it causes, if any. clip_frames is the
  // number of real (not padded) frames the clip held, 0 when unknown. A result from more real
  // frames than any result behind the track's state replaces that state instead of being blended
  // into it: the early one-frame result a new face gets is a provisional guess, and smoothing it
  // into the first full clip would let one frame (often the neutral onset of an expression) weigh
  // as much as the whole clip.
  std::optional<LabelChange> update(guint track_id, const ExpressionResult& result,
                                    double threshold, const std::vector<std::string>& classes,
                                    const std::string& model_name, guint64 clip_start,
                                    guint64 clip_end, guint clip_frames = 0);

  // The track's current params, nullptr when it has none yet. Marks the track as seen now.
  const ExpressionParams* current(guint track_id);

  // One frame has passed: forget tracks unseen for too long.
  void next_frame();
  void reset();

 private:
  struct TrackState {
    ExpressionParams params;
    std::vector<double> smoothed_scores;
    double smoothed_open_set = 0.0;
    guint evidence_frames = 0;  // the most real frames of any clip behind the smoothed state
    std::uint64_t last_seen = 0;
  };
  double smoothing_;
  std::uint64_t forget_frames_;
  std::size_t max_tracks_;
  std::uint64_t frame_ = 0;
  std::map<guint, TrackState> tracks_;
};

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "infer/result_stamper.h"

#include <algorithm>

namespace hesp::gst {

ResultStamper::ResultStamper(double smoothing, std::uint64_t forget_frames, std::size_t max_tracks)
    : smoothing_(smoothing), forget_frames_(forget_frames), max_tracks_(max_tracks) {}

std::optional<LabelChange> ResultStamper::update(guint track_id, const ExpressionResult& result,
                                                 double threshold,
                                                 const std::vector<std::string>& classes,
                                                 const std::string& model_name, guint64 clip_start,
                                                 guint64 clip_end, guint clip_frames) {
  auto it = tracks_.find(track_id);
  const bool fresh = it == tracks_.end();
  if (fresh) {
    if (tracks_.size() >= max_tracks_) {
      auto oldest = std::min_element(
          tracks_.begin(), tracks_.end(),
          [](const auto& a, const auto& b) { return a.second.last_seen < b.second.last_seen; });
      tracks_.erase(oldest);
    }
    it = tracks_.emplace(track_id, TrackState{}).first;
  }
  TrackState& t = it->second;
  const std::string previous = fresh ? std::string() : t.params.label;

  // Smoothing blends the class probabilities and the open-set score of consecutive clips, so one
  // ambiguous clip does not flip the label; the decision is then taken on the blend. A clip with
  // more real frames than any behind the state replaces it (see the header).
  const bool better_evidence = clip_frames > t.evidence_frames;
  t.evidence_frames = std::max(t.evidence_frames, clip_frames);
  if (fresh || better_evidence || smoothing_ <= 0.0 ||
      t.smoothed_scores.size() != result.class_scores.size()) {
    t.smoothed_scores = result.class_scores;
    t.smoothed_open_set = result.open_set_score;
  } else {
    for (size_t i = 0; i < t.smoothed_scores.size(); ++i)
      t.smoothed_scores[i] =
          smoothing_ * t.smoothed_scores[i] + (1 - smoothing_) * result.class_scores[i];
    t.smoothed_open_set =
        smoothing_ * t.smoothed_open_set + (1 - smoothing_) * result.open_set_score;
  }

  ExpressionParams p;
  const auto best = std::max_element(t.smoothed_scores.begin(), t.smoothed_scores.end());
  const int best_id =
      best == t.smoothed_scores.end() ? -1 : static_cast<int>(best - t.smoothed_scores.begin());
  p.open_set_score = t.smoothed_open_set;
  p.unknown_threshold = threshold;
  p.is_unknown = best_id < 0 || p.open_set_score < threshold;
  p.label_id = p.is_unknown ? -1 : best_id;
  p.label = p.is_unknown ? "unknown" : classes.at(best_id);
  p.confidence = best_id < 0 ? 0.0 : *best;
  p.model_name = model_name;
  p.clip_start = clip_start;
  p.clip_end = clip_end;
  p.clip_frames = clip_frames;
  p.class_labels = classes;
  p.class_scores = t.smoothed_scores;
  t.params = p;
  t.last_seen = frame_;
  if (!fresh && previous == p.label) return std::nullopt;
  return LabelChange{track_id, previous, p};
}

const ExpressionParams* ResultStamper::current(guint track_id) {
  auto it = tracks_.find(track_id);
  if (it == tracks_.end()) return nullptr;
  it->second.last_seen = frame_;
  return &it->second.params;
}

void ResultStamper::next_frame() {
  ++frame_;
  for (auto it = tracks_.begin(); it != tracks_.end();) {
    if (frame_ - it->second.last_seen > forget_frames_)
      it = tracks_.erase(it);
    else
      ++it;
  }
}

void ResultStamper::reset() { tracks_.clear(); }

}  // namespace hesp::gst

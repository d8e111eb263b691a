// SPDX-License-Identifier: LGPL-2.1-or-later
// Re-identification by appearance: tracks the box matching left unmatched take the unmatched
// detections that look like them, however far the boxes lie apart.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "hesp/tracker.h"
#include "track/track_matching.h"

namespace hesp {

float embedding_distance(const std::vector<float>& a, const std::vector<float>& b) {
  // cosine_similarity() treats a missing embedding as a perfect match (so that the gate never
  // vetoes without evidence); here a missing one must never re-identify anything.
  if (a.empty() || a.size() != b.size()) return -1.f;
  const float cosine = track::cosine_similarity(a, b);
  return std::sqrt(std::max(0.f, 2.f - 2.f * cosine));
}

float similarity_at_distance(float distance) { return 1.f - 0.5f * distance * distance; }

std::vector<std::pair<size_t, size_t>> Tracker::reidentify(
    const std::vector<Detection>& detections, const std::vector<size_t>& unmatched_tracks,
    const std::vector<size_t>& free_detections) const {
  std::vector<std::pair<size_t, size_t>> matches;
  if (config_.reid_max_distance <= 0.f) return matches;
  std::vector<std::tuple<float, size_t, size_t>> pairs;
  for (size_t ti : unmatched_tracks) {
    for (size_t di : free_detections) {
      // A second box on a face matched on this frame belongs to that face, not to a lost one.
      if (duplicates_matched_track(detections[di].box)) continue;
      const float d = embedding_distance(tracks_[ti].embedding, detections[di].embedding);
      if (d >= 0.f && d <= config_.reid_max_distance) pairs.emplace_back(d, ti, di);
    }
  }
  // Closest first, so that of two lost faces each takes the detection most like it; stable, so
  // ties resolve in candidate order and runs are reproducible.
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  std::vector<bool> track_taken(tracks_.size(), false), det_taken(detections.size(), false);
  for (const auto& [d, ti, di] : pairs) {
    if (track_taken[ti] || det_taken[di]) continue;
    track_taken[ti] = det_taken[di] = true;
    matches.emplace_back(ti, di);
  }
  return matches;
}

}  // namespace hesp

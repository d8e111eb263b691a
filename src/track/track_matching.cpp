// SPDX-License-Identifier: LGPL-2.1-or-later
#include "track/track_matching.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace hesp::track {

float cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || a.size() != b.size()) return 1.f;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na <= 0 || nb <= 0) return 0.f;
  return static_cast<float>(dot / std::sqrt(na * nb));
}

std::vector<std::pair<size_t, size_t>> greedy_match(const std::vector<Track>& tracks,
                                                    const std::vector<size_t>& track_candidates,
                                                    const std::vector<Detection>& detections,
                                                    const std::vector<size_t>& detection_candidates,
                                                    float iou_threshold, float min_similarity) {
  std::vector<std::tuple<float, size_t, size_t>> pairs;
  for (size_t ti : track_candidates) {
    for (size_t di : detection_candidates) {
      const float overlap = iou(tracks[ti].box, detections[di].box);
      if (overlap < iou_threshold || overlap <= 0.f) continue;
      if (min_similarity > 0.f &&
          cosine_similarity(tracks[ti].embedding, detections[di].embedding) < min_similarity)
        continue;
      pairs.emplace_back(overlap, ti, di);
    }
  }
  // Stable, so that equal overlaps resolve in candidate order and runs are reproducible.
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  std::vector<bool> track_taken(tracks.size(), false), det_taken(detections.size(), false);
  std::vector<std::pair<size_t, size_t>> matches;
  for (const auto& [overlap, ti, di] : pairs) {
    if (track_taken[ti] || det_taken[di]) continue;
    track_taken[ti] = det_taken[di] = true;
    matches.emplace_back(ti, di);
  }
  return matches;
}

void blend_embedding(std::vector<float>& track, const std::vector<float>& detection,
                     float momentum) {
  if (detection.empty()) return;
  if (track.size() != detection.size()) {
    track = detection;
  } else {
    for (size_t i = 0; i < track.size(); ++i)
      track[i] = momentum * track[i] + (1.f - momentum) * detection[i];
  }
  double norm = 0;
  for (float v : track) norm += static_cast<double>(v) * v;
  if (norm <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& v : track) v *= inv;
}

}  // namespace hesp::track

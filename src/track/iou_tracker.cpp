// SPDX-License-Identifier: LGPL-2.1-or-later
#include <numeric>

#include "hesp/tracker.h"
#include "track/track_matching.h"

namespace hesp {

IouTracker::IouTracker(TrackerConfig config) : Tracker(std::move(config)) {}

std::vector<std::uint32_t> IouTracker::update(const std::vector<Detection>& detections) {
  age_tracks();
  std::vector<size_t> all_detections(detections.size());
  std::iota(all_detections.begin(), all_detections.end(), 0);
  const std::vector<size_t> candidates = box_candidates();
  std::vector<bool> det_taken(detections.size(), false), track_taken(tracks_.size(), false);
  for (const auto& [ti, di] :
       track::greedy_match(tracks_, candidates, detections, all_detections, config_.iou_threshold,
                           config_.min_appearance_similarity)) {
    det_taken[di] = track_taken[ti] = true;
    tracks_[ti].box = detections[di].box;
    continue_track(tracks_[ti], detections[di], static_cast<int>(di));
  }
  if (config_.reid_max_distance > 0.f) {
    std::vector<size_t> unmatched, free;
    for (size_t ti = 0; ti < tracks_.size(); ++ti)
      if (!track_taken[ti]) unmatched.push_back(ti);
    for (size_t di : all_detections)
      if (!det_taken[di]) free.push_back(di);
    for (const auto& [ti, di] : reidentify(detections, unmatched, free)) {
      det_taken[di] = true;
      tracks_[ti].box = detections[di].box;
      continue_track(tracks_[ti], detections[di], static_cast<int>(di));
    }
  }
  for (size_t di = 0; di < detections.size(); ++di) {
    if (det_taken[di] || duplicates_matched_track(detections[di].box)) continue;
    start_track(detections[di], static_cast<int>(di));
  }
  return expire();
}

std::vector<std::uint32_t> IouTracker::carry() {
  age_tracks();
  return expire();
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include <numeric>

#include "hesp/tracker.h"
#include "track/track_matching.h"

namespace hesp {

IouTracker::IouTracker(TrackerConfig config) : Tracker(std::move(config)) {}

std::vector<std::uint32_t> IouTracker::update(const std::vector<Detection>& detections) {
  age_tracks();
  std::vector<size_t> all_tracks(tracks_.size()), all_detections(detections.size());
  std::iota(all_tracks.begin(), all_tracks.end(), 0);
  std::iota(all_detections.begin(), all_detections.end(), 0);
  std::vector<bool> det_taken(detections.size(), false);
  for (const auto& [ti, di] : track::greedy_match(tracks_, all_tracks, detections, all_detections,
                                                  config_.iou_threshold, 0.f)) {
    det_taken[di] = true;
    Track& t = tracks_[ti];
    t.box = detections[di].box;
    t.confidence = detections[di].confidence;
    t.frames_since_seen = 0;
    t.detection_index = static_cast<int>(di);
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

// SPDX-License-Identifier: LGPL-2.1-or-later
// SORT and ByteTrack: a Kalman filter per track predicts its box on every frame; detections are
// matched to the predicted boxes, confident ones first, then (ByteTrack) weak ones to the tracks
// still unmatched. Only confident detections start tracks.
#include <algorithm>
#include <numeric>

#include "hesp/tracker.h"
#include "track/track_matching.h"

namespace hesp {

ByteTracker::ByteTracker(TrackerConfig config, bool two_stage)
    : Tracker(std::move(config)), two_stage_(two_stage) {}

TrackerKind ByteTracker::kind() const {
  return two_stage_ ? TrackerKind::kByteTrack : TrackerKind::kSort;
}

void ByteTracker::predict() {
  age_tracks();
  // A lost track's box is not shown and not matched: its filter would only drift further.
  for (auto& t : tracks_)
    if (!t.lost) t.box = filters_.at(t.id).predict();
}

void ByteTracker::on_dropped(std::uint32_t id) { filters_.erase(id); }

std::vector<std::uint32_t> ByteTracker::update(const std::vector<Detection>& detections) {
  predict();
  std::vector<size_t> confident, weak;
  for (size_t di = 0; di < detections.size(); ++di) {
    const float c = detections[di].confidence;
    if (!two_stage_ || c >= config_.high_confidence)
      confident.push_back(di);
    else if (c >= config_.low_confidence)
      weak.push_back(di);
  }
  std::vector<size_t> unmatched = box_candidates();
  std::vector<bool> det_taken(detections.size(), false);

  auto associate = [&](const std::vector<size_t>& candidates, float iou_threshold) {
    const auto matches = track::greedy_match(tracks_, unmatched, detections, candidates,
                                             iou_threshold, config_.min_appearance_similarity);
    std::vector<bool> track_taken(tracks_.size(), false);
    for (const auto& [ti, di] : matches) {
      track_taken[ti] = det_taken[di] = true;
      Track& t = tracks_[ti];
      t.box = filters_.at(t.id).update(detections[di].box);
      continue_track(t, detections[di], static_cast<int>(di));
    }
    std::vector<size_t> still;
    for (size_t ti : unmatched)
      if (!track_taken[ti]) still.push_back(ti);
    unmatched.swap(still);
  };
  associate(confident, config_.iou_threshold);
  if (two_stage_ && !weak.empty())
    associate(weak, std::max(config_.iou_threshold, config_.low_iou_threshold));

  if (config_.reid_max_distance > 0.f) {
    // Lost tracks join the ones the boxes left unmatched; only confident detections, which could
    // start a track anyway, may re-identify one.
    for (size_t ti = 0; ti < tracks_.size(); ++ti)
      if (tracks_[ti].lost) unmatched.push_back(ti);
    std::vector<size_t> free;
    for (size_t di : confident)
      if (!det_taken[di]) free.push_back(di);
    for (const auto& [ti, di] : reidentify(detections, unmatched, free)) {
      det_taken[di] = true;
      Track& t = tracks_[ti];
      // The face is somewhere else now: the old velocity says nothing about where it goes next.
      filters_.insert_or_assign(t.id, KalmanBoxFilter(detections[di].box));
      t.box = detections[di].box;
      continue_track(t, detections[di], static_cast<int>(di));
    }
  }

  for (size_t di : confident) {
    if (det_taken[di] || duplicates_matched_track(detections[di].box)) continue;
    const Track& t = start_track(detections[di], static_cast<int>(di));
    filters_.emplace(t.id, KalmanBoxFilter(t.box));
  }
  return expire();
}

std::vector<std::uint32_t> ByteTracker::carry() {
  predict();
  return expire();
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include <algorithm>
#include <tuple>

#include "hesp/error.h"
#include "hesp/tracker.h"

namespace hesp {

IouTracker::IouTracker(TrackerConfig config) : config_(config) {
  if (config_.iou_threshold < 0.f || config_.iou_threshold > 1.f)
    throw SettingsError("tracker IoU threshold must lie in 0..1");
  if (config_.timeout_frames < 0) throw SettingsError("track-timeout must not be negative");
  if (config_.max_tracks < 1) throw SettingsError("max tracks must be at least 1");
}

std::vector<std::uint32_t> IouTracker::update(const std::vector<Detection>& detections) {
  for (auto& t : tracks_) {
    ++t.frames_since_seen;
    ++t.age;
  }
  // Greedy assignment by descending IoU: optimal enough for faces, which rarely overlap.
  std::vector<std::tuple<float, size_t, size_t>> pairs;
  for (size_t ti = 0; ti < tracks_.size(); ++ti) {
    for (size_t di = 0; di < detections.size(); ++di) {
      const float overlap = iou(tracks_[ti].box, detections[di].box);
      if (overlap >= config_.iou_threshold && overlap > 0.f) pairs.emplace_back(overlap, ti, di);
    }
  }
  std::sort(pairs.begin(), pairs.end(),
            [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  std::vector<bool> track_taken(tracks_.size(), false), det_taken(detections.size(), false);
  for (const auto& [overlap, ti, di] : pairs) {
    if (track_taken[ti] || det_taken[di]) continue;
    track_taken[ti] = det_taken[di] = true;
    Track& t = tracks_[ti];
    t.box = detections[di].box;
    t.confidence = detections[di].confidence;
    t.frames_since_seen = 0;
  }
  for (size_t di = 0; di < detections.size(); ++di) {
    if (det_taken[di]) continue;
    // A second box on a face that is already tracked (detectors sometimes report a face twice at
    // neighbouring scales) must not start a track of its own.
    const Box& b = detections[di].box;
    const bool duplicate = std::any_of(tracks_.begin(), tracks_.end(), [&](const Track& t) {
      const bool centre_inside = b.center_x() > t.box.x && b.center_x() < t.box.x + t.box.width &&
                                 b.center_y() > t.box.y && b.center_y() < t.box.y + t.box.height;
      return t.frames_since_seen == 0 && (centre_inside || iou(t.box, b) >= config_.iou_threshold);
    });
    if (duplicate) continue;
    Track t;
    t.id = next_id_++;
    t.box = detections[di].box;
    t.confidence = detections[di].confidence;
    tracks_.push_back(t);
  }
  return expire();
}

std::vector<std::uint32_t> IouTracker::carry() {
  for (auto& t : tracks_) {
    ++t.frames_since_seen;
    ++t.age;
  }
  return expire();
}

std::vector<std::uint32_t> IouTracker::expire() {
  std::vector<std::uint32_t> ended;
  auto gone = [&](const Track& t) { return t.frames_since_seen > config_.timeout_frames; };
  for (const auto& t : tracks_) {
    if (gone(t)) ended.push_back(t.id);
  }
  tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(), gone), tracks_.end());
  if (static_cast<int>(tracks_.size()) > config_.max_tracks) {
    // Keep the faces seen most recently, larger first: those are the ones worth recognising.
    std::stable_sort(tracks_.begin(), tracks_.end(), [](const Track& a, const Track& b) {
      if (a.frames_since_seen != b.frames_since_seen) return a.frames_since_seen < b.frames_since_seen;
      return a.box.area() > b.box.area();
    });
    for (size_t i = config_.max_tracks; i < tracks_.size(); ++i) ended.push_back(tracks_[i].id);
    tracks_.resize(config_.max_tracks);
  }
  // Stable order by id so consumers see tracks in the order they started.
  std::sort(tracks_.begin(), tracks_.end(), [](const Track& a, const Track& b) { return a.id < b.id; });
  return ended;
}

void IouTracker::reset() { tracks_.clear(); }

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// What every tracker kind shares: track bookkeeping, expiry, ending all tracks, the factory.
#include "hesp/tracker.h"

#include <algorithm>

#include "hesp/error.h"
#include "track/track_matching.h"

namespace hesp {

const char* tracker_kind_name(TrackerKind kind) {
  switch (kind) {
    case TrackerKind::kIou:
      return "iou";
    case TrackerKind::kSort:
      return "sort";
    case TrackerKind::kByteTrack:
      return "bytetrack";
  }
  return "?";
}

TrackerKind parse_tracker_kind(const std::string& name) {
  for (TrackerKind k : {TrackerKind::kIou, TrackerKind::kSort, TrackerKind::kByteTrack}) {
    if (name == tracker_kind_name(k)) return k;
  }
  throw SettingsError("unknown tracker '" + name + "' (expected iou, sort or bytetrack)");
}

Tracker::Tracker(TrackerConfig config) : config_(std::move(config)) {
  auto in_unit = [](float v) { return v >= 0.f && v <= 1.f; };
  if (!in_unit(config_.iou_threshold) || !in_unit(config_.low_iou_threshold))
    throw SettingsError("tracker IoU thresholds must lie in 0..1");
  if (config_.timeout_frames < 0) throw SettingsError("track-timeout must not be negative");
  if (config_.max_tracks < 1) throw SettingsError("max tracks must be at least 1");
  if (!in_unit(config_.low_confidence) || !in_unit(config_.high_confidence) ||
      config_.low_confidence > config_.high_confidence)
    throw SettingsError("tracker confidences must satisfy 0 <= low <= high <= 1");
  if (!in_unit(config_.min_appearance_similarity) || !in_unit(config_.appearance_momentum))
    throw SettingsError("tracker appearance similarity and momentum must lie in 0..1");
  if (!(config_.reid_max_distance >= 0.f && config_.reid_max_distance <= 2.f))
    throw SettingsError("re-identification distance must lie in 0..2 (0 = off)");
  if (config_.reid_memory_frames < 0)
    throw SettingsError("re-identification memory must not be negative");
}

std::vector<std::uint32_t> Tracker::end_all() {
  std::vector<std::uint32_t> ended;
  for (const auto& t : tracks_) {
    ended.push_back(t.id);
    on_dropped(t.id);
  }
  tracks_.clear();
  return ended;
}

Track& Tracker::start_track(const Detection& detection, int index) {
  Track t;
  t.id = next_id_++;
  t.box = detection.box;
  t.confidence = detection.confidence;
  t.detection_index = index;
  t.embedding = detection.embedding;
  tracks_.push_back(std::move(t));
  return tracks_.back();
}

bool Tracker::duplicates_matched_track(const Box& b) const {
  return std::any_of(tracks_.begin(), tracks_.end(), [&](const Track& t) {
    const bool centre_inside = b.center_x() > t.box.x && b.center_x() < t.box.x + t.box.width &&
                               b.center_y() > t.box.y && b.center_y() < t.box.y + t.box.height;
    return t.frames_since_seen == 0 && (centre_inside || iou(t.box, b) >= config_.iou_threshold);
  });
}

void Tracker::continue_track(Track& t, const Detection& d, int index) {
  t.confidence = d.confidence;
  t.frames_since_seen = 0;
  t.detection_index = index;
  t.lost = false;
  track::blend_embedding(t.embedding, d.embedding, config_.appearance_momentum);
}

std::vector<size_t> Tracker::box_candidates() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < tracks_.size(); ++i)
    if (!tracks_[i].lost) out.push_back(i);
  return out;
}

void Tracker::age_tracks() {
  for (auto& t : tracks_) {
    ++t.frames_since_seen;
    ++t.age;
    t.detection_index = -1;
  }
}

std::vector<std::uint32_t> Tracker::expire() {
  std::vector<std::uint32_t> ended;
  // Re-identification can still find a track with an embedding after the timeout, so it is kept
  // (lost) for the memory's frames; without an embedding nothing could ever find it again.
  const bool reid = config_.reid_max_distance > 0.f;
  const int memory = std::max(config_.timeout_frames, config_.reid_memory_frames);
  for (auto& t : tracks_)
    t.lost = reid && !t.embedding.empty() && t.frames_since_seen > config_.timeout_frames;
  auto gone = [&](const Track& t) {
    return t.frames_since_seen > (t.lost ? memory : config_.timeout_frames);
  };
  for (const auto& t : tracks_) {
    if (gone(t)) ended.push_back(t.id);
  }
  tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(), gone), tracks_.end());
  if (static_cast<int>(tracks_.size()) > config_.max_tracks) {
    // Keep the faces seen most recently, larger first: those are the ones worth recognising.
    std::stable_sort(tracks_.begin(), tracks_.end(), [](const Track& a, const Track& b) {
      if (a.frames_since_seen != b.frames_since_seen)
        return a.frames_since_seen < b.frames_since_seen;
      return a.box.area() > b.box.area();
    });
    for (size_t i = config_.max_tracks; i < tracks_.size(); ++i) ended.push_back(tracks_[i].id);
    tracks_.resize(config_.max_tracks);
  }
  for (std::uint32_t id : ended) on_dropped(id);
  // Stable order by id so consumers see tracks in the order they started.
  std::sort(tracks_.begin(), tracks_.end(),
            [](const Track& a, const Track& b) { return a.id < b.id; });
  return ended;
}

std::unique_ptr<Tracker> make_tracker(TrackerKind kind, const TrackerConfig& config) {
  switch (kind) {
    case TrackerKind::kIou:
      return std::make_unique<IouTracker>(config);
    case TrackerKind::kSort:
      return std::make_unique<ByteTracker>(config, false);
    case TrackerKind::kByteTrack:
      return std::make_unique<ByteTracker>(config, true);
  }
  throw SettingsError("unknown tracker kind");
}

}  // namespace hesp

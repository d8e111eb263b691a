// SPDX-License-Identifier: LGPL-2.1-or-later
#include <algorithm>
#include <cstring>
#include <string>

#include "hesp/error.h"
#include "hesp/face_clips.h"

namespace hesp {

void validate(const ClipConfig& c) {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw SettingsError(what);
  };
  require(c.clip_length >= 1, "clip-length must be at least 1");
  require(c.frame_subsample >= 1, "frame-subsample must be at least 1");
  require(c.clip_stride >= 1, "clip-stride must be at least 1");
  require(c.first_clip_frames >= 0 && c.first_clip_frames <= c.clip_length,
          "first-clip-frames must lie in 0..clip-length (" + std::to_string(c.clip_length) +
              "), got " + std::to_string(c.first_clip_frames));
  require(c.min_frames >= 0 && c.min_frames <= c.clip_length,
          "min-frames must lie in 0..clip-length (" + std::to_string(c.clip_length) + "), got " +
              std::to_string(c.min_frames));
  require(c.max_tracks >= 1, "max-tracks must be at least 1");
  require(c.track_timeout >= 0, "track-timeout must not be negative");
  require(c.crop_size >= 8, "crop-size must be at least 8");
  require(c.margin >= 0.f && c.margin <= 2.f, "margin must lie in 0..2");
  require(c.align_interval >= 1, "align-interval must be at least 1");
}

ClipAssembler::ClipAssembler(ClipConfig config) : config_(config) {
  validate(config_);
  if (config_.min_frames == 0) config_.min_frames = (config_.clip_length + 1) / 2;
}

bool ClipAssembler::wants_frame(std::uint32_t track_id) {
  auto it = tracks_.find(track_id);
  if (it == tracks_.end()) {
    evict_if_full();
    it = tracks_.emplace(track_id, TrackState{}).first;
  }
  TrackState& t = it->second;
  t.last_seen = frame_;
  const bool sampled = t.frames_seen % static_cast<std::uint64_t>(config_.frame_subsample) == 0;
  ++t.frames_seen;
  if (!sampled) return false;
  // When clip_stride exceeds clip_length, sampled frames between two clips are skipped entirely,
  // so no crop needs to be made for them.
  if (t.to_skip > 0) {
    --t.to_skip;
    ++t.next_index;  // a sampled frame all the same: the track's frame indices stay on its grid
    return false;
  }
  return true;
}

std::unique_ptr<Clip> ClipAssembler::add(std::uint32_t track_id, std::uint64_t pts, FaceCrop crop) {
  if (crop.size != config_.crop_size)
    throw InputError("crop of size " + std::to_string(crop.size) + " given, clips use " +
                     std::to_string(config_.crop_size));
  TrackState& t = tracks_[track_id];
  t.last_seen = frame_;
  t.window.push_back(
      Sampled{std::make_shared<const FaceCrop>(std::move(crop)), pts, t.next_index++});
  const int have = static_cast<int>(t.window.size());
  if (have < config_.clip_length) {
    // The early clip leaves the window as it is: the track's first full clip still comes.
    if (!t.clipped && have == config_.first_clip_frames) {
      t.clipped = true;
      return make_clip(track_id, t.window);
    }
    return nullptr;
  }

  t.clipped = true;
  auto clip = make_clip(track_id, t.window);
  // Slide: overlapping clips keep the tail of the window, non-overlapping ones skip ahead.
  const int keep = config_.clip_length - config_.clip_stride;
  if (keep > 0) {
    t.window.erase(t.window.begin(), t.window.end() - keep);
  } else {
    t.window.clear();
    t.to_skip = -keep;
  }
  return clip;
}

std::unique_ptr<Clip> ClipAssembler::make_clip(std::uint32_t track_id,
                                               const std::vector<Sampled>& window) const {
  auto clip = std::make_unique<Clip>();
  clip->track_id = track_id;
  clip->crop_size = config_.crop_size;
  clip->n_frames = config_.clip_length;
  clip->n_real_frames = static_cast<int>(window.size());
  clip->first_index = window.front().index;
  const size_t crop_bytes = static_cast<size_t>(config_.crop_size) * config_.crop_size * 3;
  clip->frames.resize(crop_bytes * config_.clip_length);
  clip->pts.resize(config_.clip_length);
  for (int i = 0; i < config_.clip_length; ++i) {
    // Padding repeats the last real frame.
    const Sampled& s = window[std::min<size_t>(i, window.size() - 1)];
    std::memcpy(clip->frames.data() + crop_bytes * i, s.crop->rgb.data(), crop_bytes);
    clip->pts[i] = s.pts;
  }
  return clip;
}

std::unique_ptr<Clip> ClipAssembler::finish(std::uint32_t track_id) {
  auto it = tracks_.find(track_id);
  if (it == tracks_.end()) return nullptr;
  std::unique_ptr<Clip> clip;
  if (static_cast<int>(it->second.window.size()) >= config_.min_frames)
    clip = make_clip(track_id, it->second.window);
  tracks_.erase(it);
  return clip;
}

std::vector<std::unique_ptr<Clip>> ClipAssembler::finish_all() {
  std::vector<std::uint32_t> ids;
  for (const auto& kv : tracks_) ids.push_back(kv.first);
  std::sort(ids.begin(), ids.end());
  std::vector<std::unique_ptr<Clip>> clips;
  for (auto id : ids) {
    if (auto clip = finish(id)) clips.push_back(std::move(clip));
  }
  return clips;
}

std::vector<std::unique_ptr<Clip>> ClipAssembler::end_frame() {
  std::vector<std::uint32_t> gone;
  for (const auto& kv : tracks_) {
    if (frame_ - kv.second.last_seen > static_cast<std::uint64_t>(config_.track_timeout))
      gone.push_back(kv.first);
  }
  std::sort(gone.begin(), gone.end());
  std::vector<std::unique_ptr<Clip>> clips;
  for (auto id : gone) {
    if (auto clip = finish(id)) clips.push_back(std::move(clip));
  }
  return clips;
}

void ClipAssembler::reset() { tracks_.clear(); }

void ClipAssembler::evict_if_full() {
  while (static_cast<int>(tracks_.size()) >= config_.max_tracks) {
    auto oldest = std::min_element(
        tracks_.begin(), tracks_.end(),
        [](const auto& a, const auto& b) { return a.second.last_seen < b.second.last_seen; });
    tracks_.erase(oldest);
  }
}

}  // namespace hesp

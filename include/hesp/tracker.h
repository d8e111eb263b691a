// SPDX-License-Identifier: LGPL-2.1-or-later
// IoU tracker: gives each face a stable id across frames. Detections are matched greedily to the
// existing tracks by descending IoU; unmatched detections start tracks; a track whose face has not
// been matched for `timeout_frames` frames is dropped, so a face that comes back gets a new id.
#pragma once

#include <cstdint>
#include <vector>

#include "hesp/face_detector.h"

namespace hesp {

struct TrackerConfig {
  float iou_threshold = 0.3f;  // minimum IoU for a detection to continue a track
  int timeout_frames = 15;     // frames without a matching detection before a track ends
  int max_tracks = 64;         // live tracks kept at most (smallest faces dropped first)
};

struct Track {
  std::uint32_t id = 0;
  Box box;
  float confidence = 0.f;
  int frames_since_seen = 0;  // 0 = matched on this frame
  std::uint64_t age = 0;      // frames since the track started
};

class IouTracker {
 public:
  explicit IouTracker(TrackerConfig config = {});

  // A frame on which the detector ran: match, start and end tracks. Returns the ids of tracks that
  // ended on this frame.
  std::vector<std::uint32_t> update(const std::vector<Detection>& detections);

  // A frame on which the detector did not run: boxes are carried over unchanged, tracks age.
  std::vector<std::uint32_t> carry();

  const std::vector<Track>& tracks() const { return tracks_; }

  // Forget every track (flush, new stream); ids keep increasing so old ids are never reused.
  void reset();

  const TrackerConfig& config() const { return config_; }

 private:
  std::vector<std::uint32_t> expire();

  TrackerConfig config_;
  std::vector<Track> tracks_;
  std::uint32_t next_id_ = 1;
};

}  // namespace hesp

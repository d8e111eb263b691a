// SPDX-License-Identifier: LGPL-2.1-or-later
// Face trackers: give each face a stable id across frames. Three kinds share one interface, so the
// element that drives them does not care which runs:
//   kIou       greedy IoU matching of detections to the tracks' last boxes; boxes stand still
//              between detections (the first tracker, kept for comparison).
//   kSort      a constant-velocity Kalman filter per track (KalmanBoxFilter); boxes are predicted
//              on every frame, also on frames without detection, and detections are matched to
//              the predicted boxes (SORT, Bewley et al. 2016, with greedy matching).
//   kByteTrack kSort plus two-stage association (ByteTrack, Zhang et al. 2022): confident
//              detections are matched first and may start tracks; weak detections (between
//              low_confidence and high_confidence) only continue tracks left unmatched, so a face
//              that the detector half-loses (turned, blurred) keeps its track and id.
// A track whose face has not been matched for `timeout_frames` frames is dropped, so a face that
// comes back gets a new id; end_all() ends every track at once (a shot cut).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "hesp/face_detector.h"
#include "hesp/kalman_box_filter.h"

namespace hesp {

enum class TrackerKind { kIou, kSort, kByteTrack };

// "iou", "sort", "bytetrack"; parse_tracker_kind throws SettingsError naming the accepted words.
const char* tracker_kind_name(TrackerKind kind);
TrackerKind parse_tracker_kind(const std::string& name);

struct TrackerConfig {
  float iou_threshold = 0.3f;  // minimum IoU for a detection to continue a track
  int timeout_frames = 15;     // frames without a matching detection before a track ends
  int max_tracks = 64;         // live tracks kept at most (smallest faces dropped first)
  // kByteTrack: detections at or above high_confidence are matched first and may start tracks;
  // those in [low_confidence, high_confidence) only continue unmatched tracks; lower ones are
  // ignored. The other kinds treat every detection as confident.
  float high_confidence = 0.f;
  float low_confidence = 0.f;
  // kByteTrack's second stage asks for this much overlap at least (weak detections are less sure
  // to be the same face, so they must sit closer to the predicted box).
  float low_iou_threshold = 0.5f;
  // Appearance hook (kSort, kByteTrack): when a detection and a track both carry an embedding
  // (Detection::embedding), the pair may only match if the cosine similarity of the two is at
  // least min_appearance_similarity; 0 switches the gate off. A matched track's embedding becomes
  // the running mean embedding = momentum * embedding + (1 - momentum) * detection's, normalised.
  // Nothing in hesp computes embeddings yet: detectors leave Detection::embedding empty.
  float min_appearance_similarity = 0.f;
  float appearance_momentum = 0.9f;
};

struct Track {
  std::uint32_t id = 0;
  Box box;  // kSort/kByteTrack: the filter's estimate for this frame (predicted when unmatched)
  float confidence = 0.f;
  int frames_since_seen = 0;  // 0 = matched on this frame
  std::uint64_t age = 0;      // frames since the track started
  // Index into the detections of the last update() that this track was matched to on this frame;
  // -1 when unmatched or after carry().
  int detection_index = -1;
  std::vector<float> embedding;  // empty unless detections carried embeddings
};

class Tracker {
 public:
  virtual ~Tracker() = default;

  // A frame on which the detector ran: match, start and end tracks. Returns the ids of tracks that
  // ended on this frame.
  virtual std::vector<std::uint32_t> update(const std::vector<Detection>& detections) = 0;

  // A frame on which the detector did not run: tracks age; kIou carries their boxes unchanged,
  // the Kalman kinds move them by their velocity.
  virtual std::vector<std::uint32_t> carry() = 0;

  // Ends every track (a shot cut: no face continues across it). Returns their ids, as update()
  // and carry() return the ids of tracks that timed out.
  std::vector<std::uint32_t> end_all();

  const std::vector<Track>& tracks() const { return tracks_; }

  // Forget every track (flush, new stream); ids keep increasing so old ids are never reused.
  void reset() { end_all(); }

  const TrackerConfig& config() const { return config_; }
  virtual TrackerKind kind() const = 0;

 protected:
  explicit Tracker(TrackerConfig config);

  // A new track for detection `index` of this update; returns it for the kind to add its state.
  Track& start_track(const Detection& detection, int index);
  // Whether `box` lies on a track matched on this frame (a detector reporting one face twice, at
  // neighbouring scales): such a box must not start a track of its own.
  bool duplicates_matched_track(const Box& box) const;
  // Ages every track by one frame and clears the matches of the previous frame.
  void age_tracks();
  // Drops the tracks past the timeout or over max_tracks, calling on_dropped(id) for each so a
  // kind can drop its per-track state; sorts the rest by id.
  std::vector<std::uint32_t> expire();
  virtual void on_dropped(std::uint32_t /*id*/) {}

  TrackerConfig config_;
  std::vector<Track> tracks_;
  std::uint32_t next_id_ = 1;
};

class IouTracker : public Tracker {
 public:
  explicit IouTracker(TrackerConfig config = {});
  std::vector<std::uint32_t> update(const std::vector<Detection>& detections) override;
  std::vector<std::uint32_t> carry() override;
  TrackerKind kind() const override { return TrackerKind::kIou; }
};

// kSort and kByteTrack (kSort = one association stage over every detection).
class ByteTracker : public Tracker {
 public:
  explicit ByteTracker(TrackerConfig config = {}, bool two_stage = true);
  std::vector<std::uint32_t> update(const std::vector<Detection>& detections) override;
  std::vector<std::uint32_t> carry() override;
  TrackerKind kind() const override;

 private:
  void predict();
  void on_dropped(std::uint32_t id) override;

  bool two_stage_;
  std::unordered_map<std::uint32_t, KalmanBoxFilter> filters_;  // by track id
};

// The tracker of that kind; throws SettingsError for bad values.
std::unique_ptr<Tracker> make_tracker(TrackerKind kind, const TrackerConfig& config);

}  // namespace hesp

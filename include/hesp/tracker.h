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
// Re-identification (TrackerConfig::reid_max_distance, every kind): detections that carry an
// appearance embedding (a face descriptor) may continue a track that the box matching left
// unmatched, wherever they are, when the two look alike; a track is then remembered for
// reid_memory_frames, so a face hidden for longer than the timeout still gets its id back.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
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
  // Appearance gate (every kind): when a detection and a track both carry an embedding
  // (Detection::embedding), the pair may only match if the cosine similarity of the two is at
  // least min_appearance_similarity; 0 switches the gate off. A matched track's embedding becomes
  // the running mean embedding = momentum * embedding + (1 - momentum) * detection's, normalised.
  // The detectors leave Detection::embedding empty; hespfacecrop's reid=descriptor fills it with
  // face-api's face descriptor.
  float min_appearance_similarity = 0.f;
  float appearance_momentum = 0.9f;
  // Re-identification, 0 = off. After the box matching, a track left unmatched may take a
  // confident detection left unmatched whose embedding lies within reid_max_distance of the
  // track's (Euclidean distance of the two scaled to unit length, embedding_distance(); face-api's
  // same-person distance is 0.6), however far apart the boxes are: the face was missed or hidden
  // for a while, or moved more than the box prediction follows. Closest pairs first.
  float reid_max_distance = 0.f;
  // With re-identification on, a track with an embedding outlives timeout_frames: it turns `lost`
  // and is kept up to this many unmatched frames (at least timeout_frames) for re-identification
  // only. Box matching never continues a lost track: its predicted box has long stopped meaning
  // anything, while its embedding still identifies the face.
  int reid_memory_frames = 0;
};

// The distance re-identification compares (0..2): Euclidean distance of the embeddings scaled to
// unit length, sqrt(2 - 2 * cosine similarity). For face-api's descriptors, whose norm is near 1,
// it is close to face_distance(). -1 when either is empty or their sizes differ (no evidence).
float embedding_distance(const std::vector<float>& a, const std::vector<float>& b);

// The cosine similarity of two unit vectors `distance` apart, 1 - distance^2 / 2: the
// min_appearance_similarity that vetoes the pairs farther apart than `distance`.
float similarity_at_distance(float distance);

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
  // Past timeout_frames and kept for re-identification only (TrackerConfig::reid_memory_frames):
  // its box is stale and not worth showing.
  bool lost = false;
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
  // Continues `track` with detection `index` on this frame: confidence, match, embedding.
  void continue_track(Track& track, const Detection& detection, int index);
  // The indices of the tracks that box matching may continue (every track but the lost ones).
  std::vector<size_t> box_candidates() const;
  // Re-identification after the box matching: (track index, detection index) pairs of tracks in
  // `unmatched_tracks` and confident detections not yet taken that look alike (see
  // TrackerConfig::reid_max_distance); empty when it is off. The kind continues the tracks, as
  // its own state (a filter) requires.
  std::vector<std::pair<size_t, size_t>> reidentify(
      const std::vector<Detection>& detections, const std::vector<size_t>& unmatched_tracks,
      const std::vector<size_t>& free_detections) const;
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

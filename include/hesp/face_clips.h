// SPDX-License-Identifier: LGPL-2.1-or-later
// Per-track temporal clips: the unit the expression models consume.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "hesp/face_alignment.h"
#include "hesp/image.h"

namespace hesp {

// One face crop: crop_size x crop_size RGB pixels, packed, row-major.
struct FaceCrop {
  std::vector<std::uint8_t> rgb;
  int size = 0;
};

// Cuts the square around a face box (see square_around) out of the frame, converts it to RGB and
// scales it to size x size. Parts of the square outside the frame are black, so the face stays
// centred and undistorted at frame borders.
FaceCrop crop_face(const ImageView& frame, const Box& square, int size);
// Same, writing into a caller-owned buffer of size*size*3 bytes.
void crop_face_into(const ImageView& frame, const Box& square, int size, std::uint8_t* out_rgb);

struct Clip {
  std::uint32_t track_id = 0;
  int crop_size = 0;
  int n_frames = 0;       // T
  int n_real_frames = 0;  // frames that are not repeats added as padding
  // Index of the clip's first frame among its track's sampled frames (0 for the track's first
  // sampled frame; frames skipped between clips when clip_stride > clip_length count too), so
  // frame f of the clip is the track's sampled frame first_index + f. Overlapping clips of a track
  // thus agree on which of their frames lie on a common grid (see ClipView::first_index).
  std::uint64_t first_index = 0;
  // n_frames crops, each crop_size*crop_size*3 bytes, in PTS order.
  std::vector<std::uint8_t> frames;
  std::vector<std::uint64_t> pts;  // per frame, nanoseconds (repeats carry the last real PTS)
};

struct ClipConfig {
  int clip_length = 8;      // T frames per clip
  int frame_subsample = 1;  // take every n-th frame of a track
  int clip_stride = 8;      // sampled frames between the starts of consecutive clips
  // A partial clip with at least this many frames is padded, else dropped; 0 = half the clip
  // length, rounded up.
  int min_frames = 0;
  // A new track's first result need not wait for a full clip: when its first clip_length frames
  // are still being collected and it reaches this many, a padded clip of them is made at once
  // (Clip::n_real_frames says how many are real). 0 = off. One frame by default: a face gets a
  // label on the frame it first appears (a still image too), refined once its first full clip
  // is in.
  int first_clip_frames = 1;
  int max_tracks = 32;     // tracks buffered at most; the least recently seen is evicted first
  int track_timeout = 15;  // frames a track may be absent before its partial clip is finished
  int crop_size = 224;
  float margin = 0.1f;  // context around the face box, as a fraction of the box side (the
                        // default pack was calibrated at 0.1)
  // How crops are placed on the face (hesp/face_alignment.h); the aligned kinds run the landmark
  // net (see align_interval) and ignore the margin. The clip assembler itself does not read it:
  // whoever cuts the crops does (hespclipbatch with a FaceAligner).
  FaceAlignment alignment = FaceAlignment::kNone;
  // The aligned kinds run the landmark net on a track's first sampled face and then on every
  // align_interval-th; in between its last landmarks follow the tracked box
  // (FaceAligner::crop_tracked_into). 1 = on every sampled face.
  int align_interval = 3;
  // Which of face-api's landmark nets the aligned kinds run: the tiny one costs less than half as
  // much and places eyes and box within 2 % of the eye distance of the full one
  // (docs/face-landmarks.md).
  LandmarkNet landmark_net = LandmarkNet::kTiny;
};

// Throws SettingsError naming the bad value.
void validate(const ClipConfig& config);

// Collects face crops per track and cuts them into clips.
class ClipAssembler {
 public:
  explicit ClipAssembler(ClipConfig config);

  // Starts a new video frame; call before wants_frame/add for the tracks present on it.
  void begin_frame() { ++frame_; }

  // Ends the frame: tracks absent for more than track_timeout frames are finished (see finish()).
  std::vector<std::unique_ptr<Clip>> end_frame();

  // Does the next frame of this track get sampled? (frame_subsample). Call once per frame per track
  // before add(); crops are only worth computing when this is true.
  bool wants_frame(std::uint32_t track_id);

  // A sampled crop of a track. Returns the clip it completes, if any.
  std::unique_ptr<Clip> add(std::uint32_t track_id, std::uint64_t pts, FaceCrop crop);

  // The track is gone: its partial clip is padded (when it has at least min_frames) and returned.
  std::unique_ptr<Clip> finish(std::uint32_t track_id);

  // End of stream: padded partial clips of every track, by increasing track id.
  std::vector<std::unique_ptr<Clip>> finish_all();

  // Drops every buffered frame (flush, new stream, caps change).
  void reset();

  std::size_t buffered_tracks() const { return tracks_.size(); }
  const ClipConfig& config() const { return config_; }

 private:
  struct Sampled {
    std::shared_ptr<const FaceCrop> crop;
    std::uint64_t pts;
    std::uint64_t index;  // among the track's sampled frames (Clip::first_index)
  };
  struct TrackState {
    std::vector<Sampled> window;  // at most clip_length frames
    std::uint64_t frames_seen = 0;
    std::uint64_t next_index = 0;  // index the track's next sampled frame gets
    int to_skip = 0;               // sampled frames still to skip when clip_stride > clip_length
    std::uint64_t last_seen = 0;   // frame counter value when the track was last present
    bool clipped = false;          // a clip (early or full) was made for the track
  };
  std::unique_ptr<Clip> make_clip(std::uint32_t track_id, const std::vector<Sampled>& window) const;
  void evict_if_full();

  ClipConfig config_;
  std::unordered_map<std::uint32_t, TrackState> tracks_;
  std::uint64_t frame_ = 0;
};

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// Face crops placed by the 68 facial landmarks (hesp/face_landmarks.h) instead of the detector's
// box: what a model pack may ask for in its manifest (`input.alignment`) and what hespclipbatch's
// `align` property selects.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hesp/face_landmarks.h"
#include "hesp/image.h"

namespace hesp {

enum class FaceAlignment {
  // The square around the detector's box, grown by the margin (hesp/face_clips.h square_around).
  kNone,
  // face-api.js's own crop for its expression, age and descriptor nets (`alignedRect`): the
  // bounding box of the landmarks grown by 20 %, padded to a centred square with black, not
  // rotated. The margin is not applied (the box carries its own).
  kLandmarks,
  // A similarity transform (rotation, uniform scale, shift) that puts the eye centres level at
  // fixed places: their midpoint at (0.5, kEyeLineY) of the crop side, kEyeDistance of the side
  // apart. Both constants are the means of face-api's landmark crop over the london-dev
  // portraits, so a model fed face-api's crops sees faces at the size it knows. Black outside the
  // frame; the margin is not applied.
  kEyes,
};

inline constexpr float kEyeLineY = 0.25f;
inline constexpr float kEyeDistance = 0.36f;

// "none", "landmarks", "eyes".
const char* face_alignment_name(FaceAlignment alignment);
// Throws SettingsError naming the accepted values.
FaceAlignment parse_face_alignment(const std::string& name);

// The crops of the two aligned kinds: size x size RGB pixels, packed, into a caller-owned buffer.
void crop_landmark_box_into(const ImageView& frame, const FaceLandmarks& points, int size,
                            std::uint8_t* out_rgb);
void crop_eye_aligned_into(const ImageView& frame, const FaceLandmarks& points, int size,
                           std::uint8_t* out_rgb);

// What the aligner remembers of one tracked face between two runs of the landmark net: its
// landmarks in units of the face box they were found in (0..1 across the box), so that they can
// follow the tracked box on the frames in between.
struct TrackedLandmarks {
  FaceLandmarks in_box{};
  int frames_since_refresh = -1;  // -1 = nothing remembered yet
};

// Cuts face crops the way an alignment asks, running the landmark net for the aligned kinds.
class FaceAligner {
 public:
  // Loads the landmark net (see FaceLandmarker::load; empty path = face-api's model folder in the
  // cache) unless the alignment is kNone. Throws what FaceLandmarker::load throws.
  explicit FaceAligner(FaceAlignment alignment, const std::string& landmark_model = "",
                       LandmarkNet net = LandmarkNet::kFull);
  ~FaceAligner();

  // margin is used by kNone only. Not thread-safe.
  void crop_into(const ImageView& frame, const Box& face, int size, float margin,
                 std::uint8_t* out_rgb);

  // As crop_into for one face of a track, running the landmark net only on every
  // `refresh_interval`-th call for that track (and when `memory` is empty): on the calls between,
  // the remembered landmarks are carried onto the current face box. A face moves and turns little
  // in a few frames while the tracked box follows it, and the net then costs a fraction as much
  // (docs/face-landmarks.md). refresh_interval 1 = crop_into.
  void crop_tracked_into(const ImageView& frame, const Box& face, int size, float margin,
                         int refresh_interval, TrackedLandmarks& memory, std::uint8_t* out_rgb);

  FaceAlignment alignment() const { return alignment_; }

 private:
  void crop_from_points(const ImageView& frame, const FaceLandmarks& points, int size,
                        std::uint8_t* out_rgb) const;

  FaceAlignment alignment_;
  std::unique_ptr<FaceLandmarker> landmarker_;
};

}  // namespace hesp

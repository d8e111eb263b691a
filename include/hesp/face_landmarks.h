// SPDX-License-Identifier: LGPL-2.1-or-later
// face-api.js's 68-point facial landmark networks (FaceLandmark68Net and FaceLandmark68TinyNet,
// iBUG 300-W point order) run by LibTorch from the published TensorFlow.js weights, and the
// geometry face-api derives from the points.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "hesp/image.h"

namespace hesp {

struct Point {
  float x = 0.f;
  float y = 0.f;
};

// The 68 points in image pixels: 0-16 jaw, 17-26 brows, 27-35 nose, 36-41 the eye on the image's
// left (the person's right), 42-47 the other eye, 48-67 mouth.
using FaceLandmarks = std::array<Point, 68>;

enum class LandmarkNet {
  kFull,  // face_landmark_68_model: four dense blocks of four convolutions (350 kB)
  kTiny,  // face_landmark_68_tiny_model: three blocks of three (75 kB)
};

class FaceLandmarker {
 public:
  // `path` is the weights manifest or the folder holding it (with its .bin); empty = face-api's
  // model folder in the hesp cache (scripts/setup.sh unpacks it there). Throws FileNotFoundError /
  // CorruptFileError naming the manifest or shard.
  static std::unique_ptr<FaceLandmarker> load(const std::string& path = "",
                                              LandmarkNet net = LandmarkNet::kFull);
  ~FaceLandmarker();

  // The landmarks of the face in the box, as face-api's detectSingleFace().withFaceLandmarks()
  // finds them: the box clipped to the frame and rounded down, padded to a centred square,
  // resized to 112 x 112. One difference: face-api shifts the points by the unclipped box corner;
  // this uses the corner of the pixels the network saw, which is what the points are relative to.
  // Throws InputError for a box with no pixels inside the frame. Not thread-safe.
  FaceLandmarks locate(const ImageView& frame, const Box& face);

  // "faceapi-landmarks:MANIFEST" or "faceapi-landmarks-tiny:MANIFEST".
  std::string name() const;

  struct Impl;

 private:
  explicit FaceLandmarker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Centres (means) of the eye points: 36-41 (on the image's left) and 42-47.
Point left_eye_centre(const FaceLandmarks& points);
Point right_eye_centre(const FaceLandmarks& points);

// face-api's FaceLandmarks.align() (alignMinBbox, the `alignedRect` its expression, age and
// descriptor steps crop): the bounding box of the 68 points grown by `padding` of its width and
// height (half on each side); face-api's default padding is 0.2. Not rotated.
Box landmark_box(const FaceLandmarks& points, float padding = 0.2f);

// The default weights manifest of a landmark net (in the hesp cache folder).
std::string default_faceapi_landmarks_manifest_path(LandmarkNet net = LandmarkNet::kFull);

}  // namespace hesp

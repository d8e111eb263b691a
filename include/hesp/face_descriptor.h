// SPDX-License-Identifier: LGPL-2.1-or-later
// face-api.js's face recognition network (FaceRecognitionNet: a ResNet-34-like network after
// dlib's, 150 x 150 input) run by LibTorch from the published TensorFlow.js weights: a 128-number
// descriptor per face, compared by Euclidean distance.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hesp/image.h"

namespace hesp {

// face-api's FaceMatcher default: descriptors closer than this are the same person.
inline constexpr float kFaceDescriptorMatchDistance = 0.6f;
inline constexpr int kFaceDescriptorSize = 128;

class FaceDescriber {
 public:
  // `path` is face_recognition_model-weights_manifest.json or the folder holding it (with its
  // .bin); empty = face-api's model folder in the hesp cache. Throws FileNotFoundError /
  // CorruptFileError naming the manifest or shard.
  static std::unique_ptr<FaceDescriber> load(const std::string& path = "");
  ~FaceDescriber();

  // The descriptor of the face in the box, as face-api's computeFaceDescriptor returns it for the
  // box's pixels (clipped to the frame and rounded down, padded to a centred square, resized to
  // 150 x 150): 128 numbers, not normalised (their norm is near 1 for faces, and face-api's 0.6
  // threshold is meant for them as they are). face-api's pipeline (withFaceDescriptors) passes
  // the landmark box (landmark_box() in hesp/face_landmarks.h), which gives steadier descriptors
  // than a detector's box. Throws InputError for a box with no pixels inside the frame. Not
  // thread-safe.
  std::vector<float> describe(const ImageView& frame, const Box& face);

  std::string name() const;

  struct Impl;

 private:
  explicit FaceDescriber(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Euclidean distance, face-api's euclideanDistance; throws InputError when the sizes differ.
float face_distance(const std::vector<float>& a, const std::vector<float>& b);

std::string default_faceapi_descriptor_manifest_path();

}  // namespace hesp

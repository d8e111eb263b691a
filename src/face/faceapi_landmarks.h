// SPDX-License-Identifier: LGPL-2.1-or-later
// The LibTorch port of face-api.js's FaceLandmark68Net and FaceLandmark68TinyNet behind
// hesp::FaceLandmarker. Torch stays inside the .cpp.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "hesp/face_landmarks.h"

namespace hesp {

inline constexpr const char* kFaceApiLandmarksManifestName =
    "face_landmark_68_model-weights_manifest.json";
inline constexpr const char* kFaceApiLandmarksTinyManifestName =
    "face_landmark_68_tiny_model-weights_manifest.json";
// The side of the square the networks see.
inline constexpr int kFaceApiLandmarkInputSize = 112;

class FaceApiLandmarkNet {
 public:
  // Throws FileNotFoundError / CorruptFileError naming the manifest or shard, also for another
  // network's manifest.
  FaceApiLandmarkNet(const std::string& manifest_path, LandmarkNet kind);
  ~FaceApiLandmarkNet();

  // The network's output for an RGB face crop (any size): 136 numbers, x0, y0, x1, y1, ..., each
  // relative to the 112 x 112 padded square (face-api's runNet).
  std::vector<float> raw_output(const cv::Mat& rgb);

  // The points in the crop's pixels, after face-api's postProcess (which undoes the padding).
  FaceLandmarks locate_in_crop(const cv::Mat& rgb);

  LandmarkNet kind() const { return kind_; }
  const std::string& manifest_path() const { return manifest_path_; }

 private:
  struct Net;
  LandmarkNet kind_;
  std::string manifest_path_;
  std::unique_ptr<Net> net_;
};

}  // namespace hesp

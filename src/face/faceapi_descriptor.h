// SPDX-License-Identifier: LGPL-2.1-or-later
// The LibTorch port of face-api.js's FaceRecognitionNet behind hesp::FaceDescriber. Torch stays
// inside the .cpp.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "hesp/face_descriptor.h"

namespace hesp {

inline constexpr const char* kFaceApiDescriptorManifestName =
    "face_recognition_model-weights_manifest.json";
inline constexpr int kFaceApiDescriptorInputSize = 150;

class FaceApiDescriptorNet {
 public:
  // Throws FileNotFoundError / CorruptFileError naming the manifest or shard.
  explicit FaceApiDescriptorNet(const std::string& manifest_path);
  ~FaceApiDescriptorNet();

  // face-api's computeFaceDescriptor for an RGB face crop (any size): 128 numbers.
  std::vector<float> describe_crop(const cv::Mat& rgb);

  const std::string& manifest_path() const { return manifest_path_; }

 private:
  struct Net;
  std::string manifest_path_;
  std::unique_ptr<Net> net_;
};

}  // namespace hesp

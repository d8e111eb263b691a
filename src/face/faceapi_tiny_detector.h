// SPDX-License-Identifier: LGPL-2.1-or-later
// face-api.js's TinyFaceDetector (a Tiny-YOLOv2 with depthwise-separable convolutions, trained on
// faces) run by LibTorch from the published TensorFlow.js weights. Torch stays inside the .cpp so
// that including this header costs nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hesp/face_detector.h"

namespace hesp {

// Name of the weights manifest in face-api's model folder.
inline constexpr const char* kFaceApiTinyManifestName =
    "tiny_face_detector_model-weights_manifest.json";

// face-api's score threshold for a detector sensitivity in 0..1: 1 - sensitivity, so that the
// default sensitivity 0.5 gives face-api's default threshold 0.5, kept inside face-api's open
// interval (0, 1).
double faceapi_tiny_score_threshold(double sensitivity);

class FaceApiTinyDetector final : public FaceDetector {
 public:
  // Reads and checks the weights now, so a wrong file fails at start-up and not on the first frame.
  // Throws FileNotFoundError / CorruptFileError naming the manifest or shard.
  FaceApiTinyDetector(const DetectorConfig& config, const std::string& manifest_path);
  ~FaceApiTinyDetector() override;

  std::vector<Detection> detect(const ImageView& frame) override;
  std::string name() const override;
  float confidence_threshold() const override;

  // The network's undecoded output for the frame, laid out as TensorFlow.js gives it: cells x cells
  // x 5 anchors x (x, y, w, h, objectness), row-major; input_scale is not applied. For comparing
  // the port with face-api.
  std::vector<float> raw_output(const ImageView& frame, int* cells);

 private:
  struct Net;  // the LibTorch module

  DetectorConfig config_;
  std::string manifest_path_;
  std::unique_ptr<Net> net_;
};

}  // namespace hesp

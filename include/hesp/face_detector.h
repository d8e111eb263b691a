// SPDX-License-Identifier: LGPL-2.1-or-later
// Face detectors: OpenCV's Haar cascade (default, ships with Debian's opencv-data), OpenCV's DNN
// FaceDetectorYN for a user-supplied ONNX model (YuNet), and face-api.js's TinyFaceDetector run by
// LibTorch from its published TensorFlow.js weights.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hesp/image.h"

namespace hesp {

struct Detection {
  Detection() = default;
  Detection(Box box_, float confidence_, std::vector<float> embedding_ = {})
      : box(box_), confidence(confidence_), embedding(std::move(embedding_)) {}

  Box box;                 // pixels
  float confidence = 0.f;  // 0..1
  // An optional appearance embedding of the face (e.g. from a face-recognition network) for the
  // trackers' appearance gate (TrackerConfig::min_appearance_similarity); empty = none. The
  // detectors here leave it empty.
  std::vector<float> embedding;
};

enum class DetectorKind { kHaar, kYuNet, kFaceApiTiny };

struct DetectorConfig {
  DetectorKind kind = DetectorKind::kHaar;
  // Haar: a cascade XML file; empty = the frontal-face cascade found in opencv-data.
  // YuNet: the ONNX model file (required).
  // FaceApiTiny: tiny_face_detector_model-weights_manifest.json or the folder holding it (with its
  // .bin); empty = the copy unpacked from the npm package @vladmandic/face-api in the hesp cache.
  std::string model_path;
  int min_face_size = 30;  // pixels, smallest face side searched for
  // Haar: the scale step of the image pyramid (as in OpenCV's detectMultiScale).
  double scale_factor = 1.1;
  // Sensitivity in 0..1, higher finds more (and more false) faces. Haar maps it onto
  // minNeighbors, YuNet onto its score threshold, FaceApiTiny onto its score threshold as
  // 1 - sensitivity (0.5 = face-api's default).
  double sensitivity = 0.5;
  // The detector runs on the frame scaled by this factor (0.1..1), which is much faster on large
  // frames; boxes and min_face_size stay in frame pixels.
  double input_scale = 1.0;
  // Only the largest max_faces detections are kept; 0 = no limit.
  int max_faces = 0;
  // FaceApiTiny: side in pixels of the square the frame is fitted into for the network (a multiple
  // of 32, 32..2048; face-api's default is 416). Larger finds smaller faces, at a cost that grows
  // with its square.
  int input_size = 416;
  // Below 1: weak candidates are returned too, those whose score reaches weak_fraction times the
  // sensitivity's threshold (Haar: weak_fraction times its neighbour count). Their confidence lies
  // below confidence_threshold(), the confident ones' at or above it, so a tracker can tell them
  // apart (ByteTrack's second stage uses weak detections only to continue tracks). 1 = off.
  double weak_fraction = 1.0;
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // Faces in the frame, largest first. Thread-compatible, not thread-safe.
  virtual std::vector<Detection> detect(const ImageView& frame) = 0;
  virtual std::string name() const = 0;
  // The confidence at and above which a detection is a face at the configured sensitivity; only
  // with DetectorConfig::weak_fraction < 1 are detections below it returned.
  virtual float confidence_threshold() const = 0;
};

// Loads the model named by the config. Throws FileNotFoundError / CorruptFileError naming the file,
// SettingsError for bad values.
std::unique_ptr<FaceDetector> make_face_detector(const DetectorConfig& config);

// The default weights manifest of the FaceApiTiny detector (in the hesp cache folder, cache_dir()).
std::string default_faceapi_tiny_manifest_path();

// Where the default Haar cascade lives on this machine (searched in the usual opencv-data folders);
// throws FileNotFoundError naming the folders searched when it is not installed.
std::string default_haar_cascade_path();

}  // namespace hesp

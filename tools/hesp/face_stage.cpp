// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face_stage.h"

namespace hesp::cli {

void add_face_stage_options(CLI::App* cmd, FaceStageOptions* options) {
  cmd->add_option("--detector", options->detector, "Face detector: faceapi, haar, yunet")
      ->check(CLI::IsMember({"faceapi", "haar", "yunet"}))
      ->capture_default_str();
  cmd->add_option("--detector-input-size", options->detector_input_size,
                  "faceapi detector: network input side (multiple of 32)")
      ->check(CLI::Range(32, 2048))
      ->capture_default_str();
  cmd->add_option("--sensitivity", options->sensitivity, "Face detector sensitivity (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--detection-interval", options->detection_interval,
                  "Detect faces every n frames, track in between")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--min-face-size", options->min_face_size, "Smallest face side, pixels")
      ->check(CLI::Range(4, 4096))
      ->capture_default_str();
  cmd->add_option("--detection-scale", options->detection_scale,
                  "Detect on the frame scaled by this")
      ->check(CLI::Range(0.1, 1.0))
      ->capture_default_str();
}

void configure_face_stage(GstElement* facecrop, const FaceStageOptions& options) {
  gst_util_set_object_arg(G_OBJECT(facecrop), "detector", options.detector.c_str());
  g_object_set(facecrop, "detector-input-size", options.detector_input_size, "sensitivity",
               options.sensitivity, "detection-interval", options.detection_interval,
               "min-face-size", options.min_face_size, "detection-scale", options.detection_scale,
               nullptr);
}

}  // namespace hesp::cli

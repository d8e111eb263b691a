// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face_stage.h"

#include "option_kinds.h"

namespace hesp::cli {

void add_face_stage_options(CLI::App* cmd, FaceStageOptions* options) {
  cmd->add_option("--detector", options->detector, "Face detector: faceapi, haar, yunet")
      ->check(CLI::IsMember({"faceapi", "haar", "yunet"}))
      ->capture_default_str();
  add_ranged_default(cmd, "--detector-input-size", options->detector_input_size,
                     "faceapi detector: network input side (multiple of 32)", 32, 2048);
  add_ranged_default(cmd, "--sensitivity", options->sensitivity, "Face detector sensitivity (0..1)",
                     0.0, 1.0);
  add_ranged_default(cmd, "--detection-interval", options->detection_interval,
                     "Detect faces every n frames, track in between", 1, 1000);
  add_ranged_default(cmd, "--min-face-size", options->min_face_size, "Smallest face side, pixels",
                     4, 4096);
  add_ranged_default(cmd, "--detection-scale", options->detection_scale,
                     "Detect on the frame scaled by this", 0.1, 1.0);
  cmd->add_option("--tracker", options->tracker,
                  "Face tracker: bytetrack, sort (Kalman-predicted boxes) or iou")
      ->check(CLI::IsMember({"bytetrack", "sort", "iou"}))
      ->capture_default_str();
  add_ranged_default(cmd, "--cut-threshold", options->cut_threshold,
                     "Colour-histogram distance of consecutive frames that counts as a shot cut, "
                     "ending every track (0 = off)",
                     0.0, 1.0);
  cmd->add_option("--reid", options->reid,
                  "Re-identify lost faces by face-api's face descriptor: none or descriptor")
      ->check(CLI::IsMember({"none", "descriptor"}))
      ->capture_default_str();
  add_ranged_default(
      cmd, "--reid-distance", options->reid_distance,
      "--reid descriptor: largest descriptor distance at which a lost face gets its id back", 0.05,
      2.0);
}

void configure_face_stage(GstElement* facecrop, const FaceStageOptions& options) {
  gst_util_set_object_arg(G_OBJECT(facecrop), "detector", options.detector.c_str());
  gst_util_set_object_arg(G_OBJECT(facecrop), "tracker", options.tracker.c_str());
  gst_util_set_object_arg(G_OBJECT(facecrop), "reid", options.reid.c_str());
  g_object_set(facecrop, "detector-input-size", options.detector_input_size, "sensitivity",
               options.sensitivity, "detection-interval", options.detection_interval,
               "min-face-size", options.min_face_size, "detection-scale", options.detection_scale,
               "cut-threshold", options.cut_threshold, "reid-distance", options.reid_distance,
               nullptr);
}

}  // namespace hesp::cli

// SPDX-License-Identifier: LGPL-2.1-or-later
// The face stage (hespfacecrop) as the subcommands that run it (`run`, `faces`, `bench`) offer
// it: one set of options with one set of defaults, declared on the command line in one place and
// set on the element in one place. docs/cli.md lists the defaults.
#pragma once

#include <gst/gst.h>

#include <CLI/CLI.hpp>
#include <string>

namespace hesp::cli {

struct FaceStageOptions {
  // face-api's TinyFaceDetector: finds the turned and tilted faces the Haar cascade misses, at a
  // fraction of its cost (docs/face-detectors.md), so the tool uses it by default.
  std::string detector = "faceapi";
  unsigned detector_input_size = 512;
  double sensitivity = 0.7;
  // Detecting on every third frame and tracking in between keeps the stage well ahead of real time
  // at 25 fps; faces under 40 px are too small for the expression networks' 48-112 px inputs.
  unsigned detection_interval = 3;
  unsigned min_face_size = 40;
  double detection_scale = 1.0;
  // SORT's Kalman-predicted boxes follow faces through pans between detections; a hard cut ends
  // every track (docs/design.md, hespfacecrop; the tracking bench chose SORT over ByteTrack).
  std::string tracker = "sort";
  double cut_threshold = 0.25;
  // Re-identification by face descriptor costs the landmark and recognition nets per face and
  // detection; it is off until a video shows it pays (docs/design.md, hespfacecrop).
  std::string reid = "none";
  double reid_distance = 0.4;  // hespfacecrop's default, stricter than face-api's 0.6
};

// Declares --detector, --detector-input-size, --sensitivity, --detection-interval,
// --min-face-size, --detection-scale, --tracker, --cut-threshold, --reid and --reid-distance on
// the subcommand.
void add_face_stage_options(CLI::App* cmd, FaceStageOptions* options);

// Sets the options on a hespfacecrop element.
void configure_face_stage(GstElement* facecrop, const FaceStageOptions& options);

}  // namespace hesp::cli

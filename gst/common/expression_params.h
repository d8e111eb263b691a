// SPDX-License-Identifier: LGPL-2.1-or-later
// The `expression` params structure of the metadata contract, written by hespinfer on a face ROI
// and read by hespoverlay, hespmetaconvert and applications.
//
// Fields: label (string, class name or "unknown"), label_id (int, -1 = unknown), confidence
// (double, probability of the label among the known classes), is_unknown (boolean),
// open_set_score (double, higher = more likely a known class), unknown_threshold (double),
// model_name (string), clip_start / clip_end (guint64 PTS of the clip's first / last frame),
// clip_frames (guint, the clip's real frames: fewer than the model's clip length for a track's
// early first result or a partial clip at a track's end),
// class_labels (GstValueArray of strings) and class_scores (GstValueArray of doubles, same
// order): the per-class probabilities.
#pragma once

#include <gst/video/video.h>

#include <string>
#include <vector>

namespace hesp::gst {

struct ExpressionParams {
  std::string label;
  int label_id = -1;
  double confidence = 0.0;
  bool is_unknown = true;
  double open_set_score = 0.0;
  double unknown_threshold = 0.0;
  std::string model_name;
  guint64 clip_start = GST_CLOCK_TIME_NONE;
  guint64 clip_end = GST_CLOCK_TIME_NONE;
  guint clip_frames = 0;  // real frames of the clip behind the result; 0 = not said
  std::vector<std::string> class_labels;
  std::vector<double> class_scores;
};

constexpr const char* kExpressionParamsName = "expression";

// A new "expression" structure holding the params.
GstStructure* expression_to_structure(const ExpressionParams& params);

// Replaces (or adds) the ROI's expression params.
void set_expression(GstVideoRegionOfInterestMeta* roi, const ExpressionParams& params);

// Reads the ROI's expression params; false when it has none or they are malformed.
bool get_expression(GstVideoRegionOfInterestMeta* roi, ExpressionParams* out);
bool expression_from_structure(const GstStructure* s, ExpressionParams* out);

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/frame_json.h"

#include <gst/video/video.h>

#include <algorithm>
#include <utility>

#include "common/expression_params.h"

namespace hesp::gst {

namespace {

using nlohmann::json;

json bounding_box(GstVideoRegionOfInterestMeta* roi, const GstStructure* detection, int width,
                  int height) {
  gdouble x_min, y_min, x_max, y_max;
  if (detection && gst_structure_get_double(detection, "x_min", &x_min) &&
      gst_structure_get_double(detection, "y_min", &y_min) &&
      gst_structure_get_double(detection, "x_max", &x_max) &&
      gst_structure_get_double(detection, "y_max", &y_max))
    return {{"x_min", x_min}, {"y_min", y_min}, {"x_max", x_max}, {"y_max", y_max}};
  // ROIs from other elements may carry no detection params: derive the box from the pixels.
  const double w = std::max(1, width), h = std::max(1, height);
  return {{"x_min", roi->x / w},
          {"y_min", roi->y / h},
          {"x_max", (roi->x + roi->w) / w},
          {"y_max", (roi->y + roi->h) / h}};
}

json expression_json(const ExpressionParams& e) {
  json out = {{"label", e.label},
              {"label_id", e.label_id},
              {"confidence", e.confidence},
              {"is_unknown", e.is_unknown},
              {"open_set_score", e.open_set_score},
              {"unknown_threshold", e.unknown_threshold},
              {"model", {{"name", e.model_name}}}};
  if (GST_CLOCK_TIME_IS_VALID(e.clip_start)) out["clip_start"] = e.clip_start;
  if (GST_CLOCK_TIME_IS_VALID(e.clip_end)) out["clip_end"] = e.clip_end;
  if (e.clip_frames > 0) out["clip_frames"] = e.clip_frames;
  if (!e.class_labels.empty() && e.class_labels.size() == e.class_scores.size()) {
    json scores = json::object();
    for (std::size_t i = 0; i < e.class_labels.size(); ++i)
      scores[e.class_labels[i]] = e.class_scores[i];
    out["scores"] = std::move(scores);
  }
  return out;
}

json object_json(const FaceRoi& face, int width, int height) {
  GstVideoRegionOfInterestMeta* roi = face.meta;
  const GstStructure* detection = gst_video_region_of_interest_meta_get_param(roi, "detection");
  json det = {{"bounding_box", bounding_box(roi, detection, width, height)}};
  gdouble confidence;
  gint label_id;
  const gchar* label = detection ? gst_structure_get_string(detection, "label") : nullptr;
  det["label"] = label ? label : g_quark_to_string(roi->roi_type);
  if (detection && gst_structure_get_double(detection, "confidence", &confidence))
    det["confidence"] = confidence;
  if (detection && gst_structure_get_int(detection, "label_id", &label_id))
    det["label_id"] = label_id;

  json o = {{"x", roi->x},
            {"y", roi->y},
            {"w", roi->w},
            {"h", roi->h},
            {"roi_type", g_quark_to_string(roi->roi_type)},
            {"detection", std::move(det)}};
  if (face.track_id >= 0) o["id"] = face.track_id;
  ExpressionParams expression;
  if (get_expression(roi, &expression)) o["expression"] = expression_json(expression);
  return o;
}

}  // namespace

json frame_json(GstBuffer* buffer, const std::vector<FaceRoi>& faces,
                const FrameJsonStream& stream) {
  json frame = {{"resolution", {{"width", stream.width}, {"height", stream.height}}},
                {"source", stream.source},
                {"tags", stream.tags}};
  frame["timestamp"] =
      GST_BUFFER_PTS_IS_VALID(buffer) ? json(GST_BUFFER_PTS(buffer)) : json(nullptr);
  json objects = json::array();
  for (const auto& face : faces) objects.push_back(object_json(face, stream.width, stream.height));
  frame["objects"] = std::move(objects);
  return frame;
}

json frame_json(GstBuffer* buffer, const FrameJsonStream& stream) {
  return frame_json(buffer, face_rois(buffer), stream);
}

std::string frame_json_text(const json& frame, int indent) {
  return frame.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "klv/frame_rois.h"

#include <gst/video/video.h>

#include <string>

#include "common/expression_params.h"
#include "hesp/error.h"

namespace hesp::gst {

namespace {

using nlohmann::json;

// The field `name` of `object`, of the JSON type `check` accepts; `where` names the object in
// the error message.
const json& field(const json& object, const char* name, bool (json::*check)() const noexcept,
                  const std::string& where) {
  const auto it = object.find(name);
  if (it == object.end() || !((*it).*check)())
    throw InputError(where + ": missing or mistyped field '" + name + "'");
  return *it;
}

guint pixels(const json& object, const char* name, const std::string& where) {
  const json& v = field(object, name, &json::is_number_integer, where);
  const auto n = v.get<gint64>();
  if (n < 0 || n > G_MAXINT) throw InputError(where + ": '" + name + "' out of range");
  return static_cast<guint>(n);
}

GstStructure* detection_structure(const json& det, const std::string& where) {
  const json& box = field(det, "bounding_box", &json::is_object, where + "/detection");
  const std::string box_where = where + "/detection/bounding_box";
  GstStructure* s = gst_structure_new(
      "detection", "x_min", G_TYPE_DOUBLE,
      field(box, "x_min", &json::is_number, box_where).get<double>(), "y_min", G_TYPE_DOUBLE,
      field(box, "y_min", &json::is_number, box_where).get<double>(), "x_max", G_TYPE_DOUBLE,
      field(box, "x_max", &json::is_number, box_where).get<double>(), "y_max", G_TYPE_DOUBLE,
      field(box, "y_max", &json::is_number, box_where).get<double>(), nullptr);
  // Optional fields stay absent when absent, so the JSON written again leaves them out too.
  if (const auto c = det.find("confidence"); c != det.end() && c->is_number())
    gst_structure_set(s, "confidence", G_TYPE_DOUBLE, c->get<double>(), nullptr);
  if (const auto id = det.find("label_id"); id != det.end() && id->is_number_integer())
    gst_structure_set(s, "label_id", G_TYPE_INT, id->get<gint>(), nullptr);
  if (const auto label = det.find("label"); label != det.end() && label->is_string())
    gst_structure_set(s, "label", G_TYPE_STRING, label->get<std::string>().c_str(), nullptr);
  return s;
}

ExpressionParams expression_params(const json& e, const std::string& where) {
  ExpressionParams p;
  p.label = field(e, "label", &json::is_string, where).get<std::string>();
  p.label_id = field(e, "label_id", &json::is_number_integer, where).get<int>();
  p.confidence = field(e, "confidence", &json::is_number, where).get<double>();
  p.is_unknown = field(e, "is_unknown", &json::is_boolean, where).get<bool>();
  p.open_set_score = e.value("open_set_score", 0.0);
  p.unknown_threshold = e.value("unknown_threshold", 0.0);
  if (const auto model = e.find("model"); model != e.end() && model->is_object())
    p.model_name = model->value("name", std::string());
  if (const auto v = e.find("clip_start"); v != e.end() && v->is_number_unsigned())
    p.clip_start = v->get<guint64>();
  if (const auto v = e.find("clip_end"); v != e.end() && v->is_number_unsigned())
    p.clip_end = v->get<guint64>();
  if (const auto v = e.find("clip_frames"); v != e.end() && v->is_number_unsigned())
    p.clip_frames = v->get<guint>();
  if (const auto scores = e.find("scores"); scores != e.end() && scores->is_object()) {
    for (const auto& [label, score] : scores->items()) {
      if (!score.is_number()) throw InputError(where + "/scores/" + label + ": not a number");
      p.class_labels.push_back(label);
      p.class_scores.push_back(score.get<double>());
    }
  }
  return p;
}

}  // namespace

void attach_frame_rois(GstBuffer* buffer, const json& frame) {
  if (!frame.is_object()) throw InputError("frame JSON is not an object");
  const json& objects = field(frame, "objects", &json::is_array, "frame");
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const json& o = objects[i];
    const std::string where = "objects/" + std::to_string(i);
    if (!o.is_object()) throw InputError(where + ": not an object");
    const std::string type = field(o, "roi_type", &json::is_string, where).get<std::string>();
    GstVideoRegionOfInterestMeta* roi = gst_buffer_add_video_region_of_interest_meta(
        buffer, type.c_str(), pixels(o, "x", where), pixels(o, "y", where), pixels(o, "w", where),
        pixels(o, "h", where));
    gst_video_region_of_interest_meta_add_param(
        roi, detection_structure(field(o, "detection", &json::is_object, where), where));
    if (const auto id = o.find("id"); id != o.end() && id->is_number_integer()) {
      // As add_face_roi does: the ROI id is the track id.
      roi->id = id->get<gint>();
      gst_video_region_of_interest_meta_add_param(
          roi, gst_structure_new("object_id", "id", G_TYPE_INT, roi->id, nullptr));
    }
    if (const auto e = o.find("expression"); e != o.end()) {
      if (!e->is_object()) throw InputError(where + "/expression: not an object");
      set_expression(roi, expression_params(*e, where + "/expression"));
    }
  }
}

}  // namespace hesp::gst

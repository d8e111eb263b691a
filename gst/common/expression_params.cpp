// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/expression_params.h"

namespace hesp::gst {

GstStructure* expression_to_structure(const ExpressionParams& p) {
  GstStructure* s = gst_structure_new(
      kExpressionParamsName, "label", G_TYPE_STRING, p.label.c_str(), "label_id", G_TYPE_INT,
      p.label_id, "confidence", G_TYPE_DOUBLE, p.confidence, "is_unknown", G_TYPE_BOOLEAN,
      p.is_unknown ? TRUE : FALSE, "open_set_score", G_TYPE_DOUBLE, p.open_set_score,
      "unknown_threshold", G_TYPE_DOUBLE, p.unknown_threshold, "model_name", G_TYPE_STRING,
      p.model_name.c_str(), "clip_start", G_TYPE_UINT64, p.clip_start, "clip_end", G_TYPE_UINT64,
      p.clip_end, nullptr);
  if (p.clip_frames > 0) gst_structure_set(s, "clip_frames", G_TYPE_UINT, p.clip_frames, nullptr);
  GValue labels = G_VALUE_INIT, scores = G_VALUE_INIT, item = G_VALUE_INIT;
  gst_value_array_init(&labels, p.class_labels.size());
  gst_value_array_init(&scores, p.class_scores.size());
  for (const auto& label : p.class_labels) {
    g_value_init(&item, G_TYPE_STRING);
    g_value_set_string(&item, label.c_str());
    gst_value_array_append_and_take_value(&labels, &item);
    item = G_VALUE_INIT;
  }
  for (double score : p.class_scores) {
    g_value_init(&item, G_TYPE_DOUBLE);
    g_value_set_double(&item, score);
    gst_value_array_append_and_take_value(&scores, &item);
    item = G_VALUE_INIT;
  }
  gst_structure_take_value(s, "class_labels", &labels);
  gst_structure_take_value(s, "class_scores", &scores);
  return s;
}

void set_expression(GstVideoRegionOfInterestMeta* roi, const ExpressionParams& params) {
  // ROI params are a plain list; drop an older result so readers see exactly one.
  for (GList* l = roi->params; l != nullptr;) {
    GList* next = l->next;
    auto* s = static_cast<GstStructure*>(l->data);
    if (gst_structure_has_name(s, kExpressionParamsName)) {
      gst_structure_free(s);
      roi->params = g_list_delete_link(roi->params, l);
    }
    l = next;
  }
  gst_video_region_of_interest_meta_add_param(roi, expression_to_structure(params));
}

bool expression_from_structure(const GstStructure* s, ExpressionParams* out) {
  if (!s || !gst_structure_has_name(s, kExpressionParamsName)) return false;
  ExpressionParams p;
  const gchar* label = gst_structure_get_string(s, "label");
  gboolean unknown = TRUE;
  if (!label || !gst_structure_get_int(s, "label_id", &p.label_id) ||
      !gst_structure_get_double(s, "confidence", &p.confidence) ||
      !gst_structure_get_boolean(s, "is_unknown", &unknown))
    return false;
  p.label = label;
  p.is_unknown = unknown;
  gst_structure_get_double(s, "open_set_score", &p.open_set_score);
  gst_structure_get_double(s, "unknown_threshold", &p.unknown_threshold);
  if (const gchar* model = gst_structure_get_string(s, "model_name")) p.model_name = model;
  gst_structure_get_uint64(s, "clip_start", &p.clip_start);
  gst_structure_get_uint64(s, "clip_end", &p.clip_end);
  gst_structure_get_uint(s, "clip_frames", &p.clip_frames);
  if (const GValue* labels = gst_structure_get_value(s, "class_labels");
      labels && GST_VALUE_HOLDS_ARRAY(labels)) {
    for (guint i = 0; i < gst_value_array_get_size(labels); ++i) {
      const GValue* v = gst_value_array_get_value(labels, i);
      p.class_labels.emplace_back(G_VALUE_HOLDS_STRING(v) ? g_value_get_string(v) : "");
    }
  }
  if (const GValue* scores = gst_structure_get_value(s, "class_scores");
      scores && GST_VALUE_HOLDS_ARRAY(scores)) {
    for (guint i = 0; i < gst_value_array_get_size(scores); ++i) {
      const GValue* v = gst_value_array_get_value(scores, i);
      p.class_scores.push_back(G_VALUE_HOLDS_DOUBLE(v) ? g_value_get_double(v) : 0.0);
    }
  }
  *out = std::move(p);
  return true;
}

bool get_expression(GstVideoRegionOfInterestMeta* roi, ExpressionParams* out) {
  return expression_from_structure(
      gst_video_region_of_interest_meta_get_param(roi, kExpressionParamsName), out);
}

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
// Reads the metadata contract of docs/design.md from plain GStreamer metas; it repeats, in C, the
// field names of gst/common/face_roi.cpp and expression_params.cpp because this library must not
// depend on the plugin's C++ glue (applications link only this and GStreamer).
#include "gsthespfaces.h"

#include <gst/video/video.h>

G_DEFINE_BOXED_TYPE(GstHespFace, gst_hesp_face, gst_hesp_face_copy, gst_hesp_face_free)

GstHespFace* gst_hesp_face_copy(const GstHespFace* face) {
  g_return_val_if_fail(face != nullptr, nullptr);
  auto* copy = g_new(GstHespFace, 1);
  *copy = *face;
  copy->label = g_strdup(face->label);
  return copy;
}

void gst_hesp_face_free(GstHespFace* face) {
  if (!face) return;
  g_free(face->label);
  g_free(face);
}

namespace {

void read_expression(const GstStructure* s, GstHespFace* face) {
  const gchar* label = gst_structure_get_string(s, "label");
  gboolean unknown = TRUE;
  // The same required fields as the plugin's reader: a structure without them is not a result.
  if (!label || !gst_structure_get_int(s, "label_id", &face->label_id) ||
      !gst_structure_get_double(s, "confidence", &face->confidence) ||
      !gst_structure_get_boolean(s, "is_unknown", &unknown)) {
    face->label_id = -1;
    face->confidence = 0.0;
    return;
  }
  face->has_expression = TRUE;
  face->label = g_strdup(label);
  face->is_unknown = unknown;
  gst_structure_get_double(s, "open_set_score", &face->open_set_score);
  gst_structure_get_uint64(s, "clip_start", &face->clip_start);
  gst_structure_get_uint64(s, "clip_end", &face->clip_end);
}

}  // namespace

GPtrArray* gst_hesp_buffer_get_faces(GstBuffer* buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  GPtrArray* faces =
      g_ptr_array_new_with_free_func(reinterpret_cast<GDestroyNotify>(gst_hesp_face_free));
  const GQuark face_type = g_quark_from_static_string("face");
  gpointer state = nullptr;
  GstMeta* m;
  while ((m = gst_buffer_iterate_meta_filtered(buffer, &state,
                                               GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(m);
    if (roi->roi_type != face_type) continue;
    auto* face = g_new0(GstHespFace, 1);
    face->roi_id = roi->id;
    face->track_id = -1;
    face->x = roi->x;
    face->y = roi->y;
    face->width = roi->w;
    face->height = roi->h;
    face->label_id = -1;
    face->is_unknown = TRUE;
    face->clip_start = face->clip_end = GST_CLOCK_TIME_NONE;
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "object_id"))
      gst_structure_get_int(s, "id", &face->track_id);
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "detection"))
      gst_structure_get_double(s, "confidence", &face->detection_confidence);
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "expression"))
      read_expression(s, face);
    g_ptr_array_add(faces, face);
  }
  return faces;
}

guint gst_hesp_buffer_get_n_clips(GstBuffer* buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), 0);
  guint n = 0;
  gpointer state = nullptr;
  while (gst_buffer_iterate_hesp_clip_meta(buffer, &state)) ++n;
  return n;
}

GstHespClipMeta* gst_hesp_buffer_get_nth_clip(GstBuffer* buffer, guint index) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  gpointer state = nullptr;
  guint i = 0;
  while (GstHespClipMeta* clip = gst_buffer_iterate_hesp_clip_meta(buffer, &state)) {
    if (i++ == index) return clip;
  }
  return nullptr;
}

GBytes* gst_hesp_clip_meta_get_frames(GstHespClipMeta* meta) {
  g_return_val_if_fail(meta != nullptr, nullptr);
  return meta->frames;
}

const GstClockTime* gst_hesp_clip_meta_get_pts(GstHespClipMeta* meta, guint* n_frames) {
  g_return_val_if_fail(meta != nullptr && n_frames != nullptr, nullptr);
  *n_frames = meta->n_frames;
  return meta->pts;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gsthespclipmeta.h"

#include <cstring>

namespace {

constexpr const char* kEventName = "hesp-clip";

gsize expected_bytes(guint n_frames, guint crop_size) {
  return static_cast<gsize>(n_frames) * crop_size * crop_size * 3;
}

gboolean clip_meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* clip = reinterpret_cast<GstHespClipMeta*>(meta);
  clip->track_id = 0;
  clip->roi_id = -1;
  clip->n_frames = clip->n_real_frames = clip->crop_size = 0;
  clip->frames = nullptr;
  clip->pts = nullptr;
  clip->first_index = 0;
  return TRUE;
}

void clip_meta_free(GstMeta* meta, GstBuffer*) {
  auto* clip = reinterpret_cast<GstHespClipMeta*>(meta);
  if (clip->frames) g_bytes_unref(clip->frames);
  g_free(clip->pts);
}

// The clip does not depend on the buffer's pixels or geometry, so every transform (copy, scale,
// colour conversion) keeps it, sharing the pixel data.
gboolean clip_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark, gpointer) {
  auto* clip = reinterpret_cast<GstHespClipMeta*>(meta);
  return gst_buffer_add_hesp_clip_meta(dest, clip->track_id, clip->roi_id, clip->n_frames,
                                       clip->n_real_frames, clip->crop_size, clip->frames,
                                       clip->pts, clip->first_index) != nullptr;
}

}  // namespace

GType gst_hesp_clip_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar* tags[] = {nullptr};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstHespClipMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

const GstMetaInfo* gst_hesp_clip_meta_get_info(void) {
  static const GstMetaInfo* info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo* mi =
        gst_meta_register(GST_HESP_CLIP_META_API_TYPE, "GstHespClipMeta", sizeof(GstHespClipMeta),
                          clip_meta_init, clip_meta_free, clip_meta_transform);
    g_once_init_leave(&info, mi);
  }
  return info;
}

GstHespClipMeta* gst_buffer_add_hesp_clip_meta(GstBuffer* buffer, guint track_id, gint roi_id,
                                               guint n_frames, guint n_real_frames, guint crop_size,
                                               GBytes* frames, const GstClockTime* pts,
                                               guint64 first_index) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  g_return_val_if_fail(frames != nullptr && pts != nullptr, nullptr);
  g_return_val_if_fail(n_frames > 0 && n_real_frames <= n_frames, nullptr);
  g_return_val_if_fail(g_bytes_get_size(frames) == expected_bytes(n_frames, crop_size), nullptr);
  auto* clip = reinterpret_cast<GstHespClipMeta*>(
      gst_buffer_add_meta(buffer, GST_HESP_CLIP_META_INFO, nullptr));
  if (!clip) return nullptr;
  clip->track_id = track_id;
  clip->roi_id = roi_id;
  clip->n_frames = n_frames;
  clip->n_real_frames = n_real_frames;
  clip->crop_size = crop_size;
  clip->frames = g_bytes_ref(frames);
  clip->pts = static_cast<GstClockTime*>(g_memdup2(pts, sizeof(GstClockTime) * n_frames));
  clip->first_index = first_index;
  return clip;
}

GstHespClipMeta* gst_buffer_iterate_hesp_clip_meta(GstBuffer* buffer, gpointer* state) {
  return reinterpret_cast<GstHespClipMeta*>(
      gst_buffer_iterate_meta_filtered(buffer, state, GST_HESP_CLIP_META_API_TYPE));
}

GstEvent* gst_hesp_clip_event_new(guint track_id, guint n_frames, guint n_real_frames,
                                  guint crop_size, GBytes* frames, const GstClockTime* pts,
                                  guint64 first_index) {
  g_return_val_if_fail(frames != nullptr && pts != nullptr && n_frames > 0, nullptr);
  g_return_val_if_fail(g_bytes_get_size(frames) == expected_bytes(n_frames, crop_size), nullptr);
  GBytes* pts_bytes = g_bytes_new(pts, sizeof(GstClockTime) * n_frames);
  GstStructure* s =
      gst_structure_new(kEventName, "track-id", G_TYPE_UINT, track_id, "n-frames", G_TYPE_UINT,
                        n_frames, "n-real-frames", G_TYPE_UINT, n_real_frames, "crop-size",
                        G_TYPE_UINT, crop_size, "frames", G_TYPE_BYTES, frames, "pts", G_TYPE_BYTES,
                        pts_bytes, "first-index", G_TYPE_UINT64, first_index, nullptr);
  g_bytes_unref(pts_bytes);
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

gboolean gst_hesp_clip_event_is_clip(GstEvent* event) {
  return GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_DOWNSTREAM &&
         gst_event_has_name(event, kEventName);
}

gboolean gst_hesp_clip_event_parse(GstEvent* event, guint* track_id, guint* n_frames,
                                   guint* n_real_frames, guint* crop_size, GBytes** frames,
                                   GstClockTime** pts, guint64* first_index) {
  if (!gst_hesp_clip_event_is_clip(event)) return FALSE;
  const GstStructure* s = gst_event_get_structure(event);
  guint t = 0, n = 0, real = 0, size = 0;
  GBytes *f = nullptr, *p = nullptr;
  if (!gst_structure_get(s, "track-id", G_TYPE_UINT, &t, "n-frames", G_TYPE_UINT, &n,
                         "n-real-frames", G_TYPE_UINT, &real, "crop-size", G_TYPE_UINT, &size,
                         "frames", G_TYPE_BYTES, &f, "pts", G_TYPE_BYTES, &p, nullptr))
    return FALSE;
  // Producers that predate the field leave it out: their clips start the grid at 0.
  guint64 first = 0;
  if (gst_structure_has_field(s, "first-index") &&
      !gst_structure_get_uint64(s, "first-index", &first)) {
    g_bytes_unref(f);
    g_bytes_unref(p);
    return FALSE;
  }
  const gboolean ok = n > 0 && g_bytes_get_size(f) == expected_bytes(n, size) &&
                      g_bytes_get_size(p) == sizeof(GstClockTime) * n;
  if (ok) {
    *track_id = t;
    *n_frames = n;
    *n_real_frames = real;
    *crop_size = size;
    if (first_index) *first_index = first;
    *frames = g_bytes_ref(f);
    *pts = static_cast<GstClockTime*>(g_memdup2(g_bytes_get_data(p, nullptr), g_bytes_get_size(p)));
  }
  g_bytes_unref(f);
  g_bytes_unref(p);
  return ok;
}

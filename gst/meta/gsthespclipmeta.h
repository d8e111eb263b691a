/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The clip meta: a face track's T aligned RGB crops, attached by hespclipbatch to the buffer on
 * which the clip completes and read by hespinfer (or any application). The pixel data is a
 * ref-counted GBytes, shared, never copied, when buffers are copied or transformed. */
#ifndef GST_HESP_CLIP_META_H
#define GST_HESP_CLIP_META_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_HESP_CLIP_META_API_TYPE (gst_hesp_clip_meta_api_get_type())
#define GST_HESP_CLIP_META_INFO (gst_hesp_clip_meta_get_info())

typedef struct _GstHespClipMeta GstHespClipMeta;

/**
 * GstHespClipMeta:
 * @meta: parent
 * @track_id: the face track (the `object_id` `id` of the face ROI)
 * @roi_id: id of the face's GstVideoRegionOfInterestMeta on this buffer, -1 when the track has
 *   no ROI on it (a clip finished after the face left the picture)
 * @n_frames: T, frames in the clip
 * @n_real_frames: frames that are real crops; the rest repeat the last one (padding)
 * @crop_size: side of each square crop, pixels
 * @frames: n_frames × crop_size × crop_size × 3 bytes, RGB, packed, row-major, in PTS order
 * @pts: n_frames presentation timestamps (padding repeats the last real one)
 * @first_index: index of the clip's first frame among its track's sampled frames (frame f is the
 *   track's sampled frame first_index + f); hespinfer's frame-subsample picks frames on this grid
 */
struct _GstHespClipMeta {
  GstMeta meta;
  guint track_id;
  gint roi_id;
  guint n_frames;
  guint n_real_frames;
  guint crop_size;
  GBytes* frames;
  GstClockTime* pts;
  guint64 first_index;
};

GType gst_hesp_clip_meta_api_get_type(void);
const GstMetaInfo* gst_hesp_clip_meta_get_info(void);

/**
 * gst_buffer_add_hesp_clip_meta: (skip)
 *
 * Adds a clip; takes a new reference to @frames and copies @pts (n_frames entries). Returns NULL
 * when the sizes do not agree. (Skipped by introspection: bindings read clips, they do not make
 * them.)
 */
GstHespClipMeta* gst_buffer_add_hesp_clip_meta(GstBuffer* buffer, guint track_id, gint roi_id,
                                               guint n_frames, guint n_real_frames, guint crop_size,
                                               GBytes* frames, const GstClockTime* pts,
                                               guint64 first_index);

/**
 * gst_buffer_iterate_hesp_clip_meta: (skip)
 *
 * Iterates the clip metas of a buffer: start with *state = NULL, stop at NULL. Bindings use
 * gst_hesp_buffer_get_n_clips() and gst_hesp_buffer_get_nth_clip() instead.
 */
GstHespClipMeta* gst_buffer_iterate_hesp_clip_meta(GstBuffer* buffer, gpointer* state);

/* Clips that end after the last buffer (partial clips at EOS) travel in a serialized custom
 * downstream event named "hesp-clip" with the same fields. */
GstEvent* gst_hesp_clip_event_new(guint track_id, guint n_frames, guint n_real_frames,
                                  guint crop_size, GBytes* frames, const GstClockTime* pts,
                                  guint64 first_index);
gboolean gst_hesp_clip_event_is_clip(GstEvent* event);
/* Fills the out parameters; *frames and *pts are new references / allocations the caller frees
 * (g_bytes_unref, g_free). @first_index may be NULL; an event without "first-index" gives 0. */
gboolean gst_hesp_clip_event_parse(GstEvent* event, guint* track_id, guint* n_frames,
                                   guint* n_real_frames, guint* crop_size, GBytes** frames,
                                   GstClockTime** pts, guint64* first_index);

G_END_DECLS

#endif /* GST_HESP_CLIP_META_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The faces of a buffer as plain values: a reader for the face ROIs hespfacecrop attaches
 * (GstVideoRegionOfInterestMeta of type "face" with `detection` and `object_id` params) and the
 * `expression` params hespinfer writes on them. Applications and language bindings (GObject
 * introspection) get one GstHespFace per face without walking ROI param lists themselves. */
#ifndef GST_HESP_FACES_H
#define GST_HESP_FACES_H

#include <gst/gst.h>

#include "gsthespclipmeta.h"

G_BEGIN_DECLS

#define GST_HESP_TYPE_FACE (gst_hesp_face_get_type())

typedef struct _GstHespFace GstHespFace;

/**
 * GstHespFace:
 * @roi_id: id of the face's GstVideoRegionOfInterestMeta (the track id for hespfacecrop's faces)
 * @track_id: the face track (`object_id` `id`), -1 when the ROI carries none
 * @x: left edge of the box, pixels
 * @y: top edge of the box, pixels
 * @width: box width, pixels
 * @height: box height, pixels
 * @detection_confidence: the detector's confidence (`detection` `confidence`), 0 when absent
 * @has_expression: whether the face carries an `expression` result; the fields below are only
 *   meaningful when it does
 * @label: the expression's class name, or "unknown"; NULL without a result
 * @label_id: index of @label among the pack's classes, -1 for unknown
 * @confidence: probability of @label among the known classes
 * @is_unknown: whether the open-set test rejected every known class
 * @open_set_score: the open-set score (higher = more likely a known class)
 * @clip_start: PTS of the first frame of the clip behind the result (GST_CLOCK_TIME_NONE if
 *   not said)
 * @clip_end: PTS of the last frame of that clip (GST_CLOCK_TIME_NONE if not said)
 *
 * One face of a video frame, a copy of what the buffer's metadata says about it.
 */
struct _GstHespFace {
  gint roi_id;
  gint track_id;
  guint x;
  guint y;
  guint width;
  guint height;
  gdouble detection_confidence;
  gboolean has_expression;
  gchar* label;
  gint label_id;
  gdouble confidence;
  gboolean is_unknown;
  gdouble open_set_score;
  GstClockTime clip_start;
  GstClockTime clip_end;
};

GType gst_hesp_face_get_type(void);

/**
 * gst_hesp_face_copy:
 * @face: a face
 *
 * Returns: (transfer full): a deep copy of @face
 */
GstHespFace* gst_hesp_face_copy(const GstHespFace* face);

/**
 * gst_hesp_face_free:
 * @face: (transfer full): a face
 */
void gst_hesp_face_free(GstHespFace* face);

/**
 * gst_hesp_buffer_get_faces:
 * @buffer: a video buffer
 *
 * Reads every face ROI of @buffer, in attachment order.
 *
 * Returns: (transfer container) (element-type GstHespFace): the faces, empty when there are none;
 *   the array owns them (g_ptr_array_unref() frees the faces too)
 */
GPtrArray* gst_hesp_buffer_get_faces(GstBuffer* buffer);

/**
 * gst_hesp_buffer_get_n_clips:
 * @buffer: a buffer
 *
 * Returns: how many #GstHespClipMeta @buffer carries
 */
guint gst_hesp_buffer_get_n_clips(GstBuffer* buffer);

/**
 * gst_hesp_buffer_get_nth_clip:
 * @buffer: a buffer
 * @index: which clip, 0 to gst_hesp_buffer_get_n_clips() - 1, in attachment order
 *
 * Returns: (transfer none) (nullable): the clip, owned by @buffer, or NULL when @index is out of
 *   range
 */
GstHespClipMeta* gst_hesp_buffer_get_nth_clip(GstBuffer* buffer, guint index);

/**
 * gst_hesp_clip_meta_get_frames:
 * @meta: a clip
 *
 * Returns: (transfer none): the clip's pixels, n_frames × crop_size × crop_size × 3 bytes, RGB
 */
GBytes* gst_hesp_clip_meta_get_frames(GstHespClipMeta* meta);

/**
 * gst_hesp_clip_meta_get_pts:
 * @meta: a clip
 * @n_frames: (out): number of timestamps
 *
 * Returns: (array length=n_frames): the frames' presentation timestamps, owned by @meta
 */
const GstClockTime* gst_hesp_clip_meta_get_pts(GstHespClipMeta* meta, guint* n_frames);

G_END_DECLS

#endif /* GST_HESP_FACES_H */

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/face_roi.h"

#include <algorithm>

namespace hesp::gst {

GQuark face_roi_type() {
  static const GQuark quark = g_quark_from_static_string("face");
  return quark;
}

GstVideoRegionOfInterestMeta* add_face_roi(GstBuffer* buffer, const Box& box, double confidence,
                                           guint track_id, int frame_width, int frame_height) {
  const Box b = clip_to_frame(box, frame_width, frame_height);
  const guint x = static_cast<guint>(b.x), y = static_cast<guint>(b.y);
  const guint w = std::max(1u, static_cast<guint>(b.width + 0.5f));
  const guint h = std::max(1u, static_cast<guint>(b.height + 0.5f));
  GstVideoRegionOfInterestMeta* meta =
      gst_buffer_add_video_region_of_interest_meta_id(buffer, face_roi_type(), x, y, w, h);
  // The ROI id is the track id: unique among the faces of a frame and stable across frames, so
  // metas that point at a face ROI (clip metas, application data) stay meaningful.
  meta->id = static_cast<gint>(track_id);
  const double fw = std::max(1, frame_width), fh = std::max(1, frame_height);
  GstStructure* detection = gst_structure_new(
      "detection", "x_min", G_TYPE_DOUBLE, b.x / fw, "y_min", G_TYPE_DOUBLE, b.y / fh, "x_max",
      G_TYPE_DOUBLE, (b.x + b.width) / fw, "y_max", G_TYPE_DOUBLE, (b.y + b.height) / fh,
      "confidence", G_TYPE_DOUBLE, confidence, "label_id", G_TYPE_INT, 0, "label", G_TYPE_STRING,
      "face", nullptr);
  gst_video_region_of_interest_meta_add_param(meta, detection);
  GstStructure* object_id =
      gst_structure_new("object_id", "id", G_TYPE_INT, static_cast<gint>(track_id), nullptr);
  gst_video_region_of_interest_meta_add_param(meta, object_id);
  return meta;
}

std::vector<FaceRoi> face_rois(GstBuffer* buffer) {
  std::vector<FaceRoi> out;
  gpointer state = nullptr;
  GstMeta* m;
  while ((m = gst_buffer_iterate_meta_filtered(buffer, &state,
                                               GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(m);
    if (roi->roi_type != face_roi_type()) continue;
    FaceRoi face;
    face.meta = roi;
    face.box = Box{static_cast<float>(roi->x), static_cast<float>(roi->y),
                   static_cast<float>(roi->w), static_cast<float>(roi->h)};
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "object_id"))
      gst_structure_get_int(s, "id", &face.track_id);
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "detection"))
      gst_structure_get_double(s, "confidence", &face.confidence);
    out.push_back(face);
  }
  return out;
}

}  // namespace hesp::gst

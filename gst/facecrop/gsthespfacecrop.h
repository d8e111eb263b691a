// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_HESP_FACE_CROP (gst_hesp_face_crop_get_type())
G_DECLARE_FINAL_TYPE(GstHespFaceCrop, gst_hesp_face_crop, GST, HESP_FACE_CROP, GstVideoFilter)

#define GST_TYPE_HESP_DETECTOR (gst_hesp_detector_get_type())
GType gst_hesp_detector_get_type(void);

#define GST_TYPE_HESP_TRACKER (gst_hesp_tracker_get_type())
GType gst_hesp_tracker_get_type(void);

#define GST_TYPE_HESP_REID (gst_hesp_reid_get_type())
GType gst_hesp_reid_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(hespfacecrop);

G_END_DECLS

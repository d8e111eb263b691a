// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_HESP_OVERLAY (gst_hesp_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstHespOverlay, gst_hesp_overlay, GST, HESP_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(hespoverlay);

G_END_DECLS

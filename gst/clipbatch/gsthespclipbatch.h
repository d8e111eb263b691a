// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_HESP_CLIP_BATCH (gst_hesp_clip_batch_get_type())
G_DECLARE_FINAL_TYPE(GstHespClipBatch, gst_hesp_clip_batch, GST, HESP_CLIP_BATCH, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(hespclipbatch);

G_END_DECLS

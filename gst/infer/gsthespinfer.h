// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_HESP_INFER (gst_hesp_infer_get_type())
G_DECLARE_FINAL_TYPE(GstHespInfer, gst_hesp_infer, GST, HESP_INFER, GstElement)

GST_ELEMENT_REGISTER_DECLARE(hespinfer);

G_END_DECLS

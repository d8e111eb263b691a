// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_HESP_KLV_ENCODE (gst_hesp_klv_encode_get_type())
G_DECLARE_FINAL_TYPE(GstHespKlvEncode, gst_hesp_klv_encode, GST, HESP_KLV_ENCODE, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(hespklvencode);

G_END_DECLS

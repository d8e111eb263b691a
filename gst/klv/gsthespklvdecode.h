// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstaggregator.h>

G_BEGIN_DECLS

#define GST_TYPE_HESP_KLV_DECODE (gst_hesp_klv_decode_get_type())
G_DECLARE_FINAL_TYPE(GstHespKlvDecode, gst_hesp_klv_decode, GST, HESP_KLV_DECODE, GstAggregator)

GST_ELEMENT_REGISTER_DECLARE(hespklvdecode);

G_END_DECLS

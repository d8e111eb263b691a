// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_HESP_META_CONVERT (gst_hesp_meta_convert_get_type())
G_DECLARE_FINAL_TYPE(GstHespMetaConvert, gst_hesp_meta_convert, GST, HESP_META_CONVERT,
                     GstBaseTransform)

#define GST_TYPE_HESP_META_CONVERT_METHOD (gst_hesp_meta_convert_method_get_type())
GType gst_hesp_meta_convert_method_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(hespmetaconvert);

G_END_DECLS

// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_HESP_META_PUBLISH (gst_hesp_meta_publish_get_type())
G_DECLARE_FINAL_TYPE(GstHespMetaPublish, gst_hesp_meta_publish, GST, HESP_META_PUBLISH,
                     GstBaseTransform)

#define GST_TYPE_HESP_META_PUBLISH_METHOD (gst_hesp_meta_publish_method_get_type())
GType gst_hesp_meta_publish_method_get_type(void);

#define GST_TYPE_HESP_META_PUBLISH_CONNECT_POLICY (gst_hesp_meta_publish_connect_policy_get_type())
GType gst_hesp_meta_publish_connect_policy_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(hespmetapublish);

G_END_DECLS

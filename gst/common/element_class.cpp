// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/element_class.h"

namespace hesp::gst {

void describe_element(GstElementClass* klass, const ElementDoc& doc, GstDebugCategory** category) {
  gst_element_class_set_static_metadata(klass, doc.longname, doc.classification, doc.description,
                                        "hesp developers");
  GST_DEBUG_CATEGORY_INIT(*category, doc.name, 0, doc.longname);
}

GType register_enum(const char* type_name, const GEnumValue* values) {
  return g_enum_register_static(type_name, values);
}

void add_pad_templates(GstElementClass* klass, const char* caps) {
  GstCaps* parsed = gst_caps_from_string(caps);
  gst_element_class_add_pad_template(
      klass, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, parsed));
  gst_element_class_add_pad_template(
      klass, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, parsed));
  gst_caps_unref(parsed);
}

GstPad* new_pad_from_class_template(GstElement* element, const char* name) {
  return gst_pad_new_from_template(
      gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(element), name), name);
}

void set_video_filter_vfuncs(GstVideoFilterClass* klass, const VideoFilterVfuncs& vfuncs) {
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  if (vfuncs.start) trans_class->start = GST_DEBUG_FUNCPTR(vfuncs.start);
  if (vfuncs.stop) trans_class->stop = GST_DEBUG_FUNCPTR(vfuncs.stop);
  if (vfuncs.sink_event) trans_class->sink_event = GST_DEBUG_FUNCPTR(vfuncs.sink_event);
  trans_class->passthrough_on_same_caps = FALSE;
  if (vfuncs.set_info) klass->set_info = GST_DEBUG_FUNCPTR(vfuncs.set_info);
  if (vfuncs.transform_frame_ip)
    klass->transform_frame_ip = GST_DEBUG_FUNCPTR(vfuncs.transform_frame_ip);
}

}  // namespace hesp::gst

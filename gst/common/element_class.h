// SPDX-License-Identifier: LGPL-2.1-or-later
// The GObject skeleton every hesp element shares, written once: the instance struct's private
// C++ object (created in _init, deleted in finalize), the class set-up (metadata, debug category,
// property table, pad templates, the base-transform vfuncs) and the registration of the enums
// that properties use.
//
// An element's instance struct holds `Private* priv`, where Private is an
// ElementData<Settings, State>; its class_init then reads
//
//   static const hesp::gst::ElementDoc doc{"hespfoo", "HESP foo", "Filter/Video", "Does foo."};
//   auto* trans_class = hesp::gst::init_video_filter_class<GstHespFoo, gst_hesp_foo_get_type>(
//       klass, doc, &gst_hesp_foo_debug, GST_VIDEO_CAPS_MAKE(HESP_VIDEO_FORMATS),
//       {start, stop, sink_event, set_info, transform_frame_ip}, {property rows});
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

#include <type_traits>
#include <utility>
#include <vector>

#include "common/element_state.h"
#include "common/property_table.h"

namespace hesp::gst {

// What gst-inspect-1.0 shows about an element. `name` also names its debug category and
// `longname` describes it; the author is always "hesp developers".
struct ElementDoc {
  const char* name;
  const char* longname;
  const char* classification;
  const char* description;
};

// Sets the element metadata and creates the element's debug category.
void describe_element(GstElementClass* klass, const ElementDoc& doc, GstDebugCategory** category);

// Registers a GEnum type from its values (terminated by {0, nullptr, nullptr}). Call it from the
// type's get_type() to initialise a function-local static, which C++ makes thread-safe.
GType register_enum(const char* type_name, const GEnumValue* values);

// The always-present "sink" and "src" pad templates, both with `caps`.
void add_pad_templates(GstElementClass* klass, const char* caps);

// A pad made from the element class's template `name` (as add_pad_templates adds), not yet added.
GstPad* new_pad_from_class_template(GstElement* element, const char* name);

// The private object and the Settings of an element's instance struct.
template <typename Instance>
using PrivateOf = std::remove_pointer_t<decltype(Instance::priv)>;
template <typename Instance>
using SettingsOf = typename PrivateOf<Instance>::Settings;

// GObject hands the vfuncs below a pointer to the instance, whose first member is the parent
// instance; the type system has checked the type before calling them.
template <typename Instance>
Instance* instance_cast(gpointer object) {
  return static_cast<Instance*>(object);
}

template <typename Instance>
Guarded<SettingsOf<Instance>>* settings_of(GObject* object) {
  return &instance_cast<Instance>(object)->priv->settings;
}

// _init: creates the private object.
template <typename Instance>
void init_private(Instance* self) {
  self->priv = new PrivateOf<Instance>();
}

// _init of an element that derives from GstBaseTransform and only works in place.
template <typename Instance>
void init_in_place(Instance* self) {
  init_private(self);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

// finalize: deletes the private object, then chains up. `get_type` is the element's
// *_get_type(), which tells the parent class to chain up to.
template <typename Instance, GType (*get_type)()>
void finalize_private(GObject* object) {
  Instance* self = instance_cast<Instance>(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(g_type_class_peek_parent(g_type_class_peek(get_type())))->finalize(object);
}

// What every element's class_init does: finalize, the property table, the metadata and the debug
// category. The table lives in a function-local static of this instantiation, one per element, so
// it outlives the class as PropertyTable requires.
template <typename Instance, GType (*get_type)()>
void init_element_class(gpointer klass, const ElementDoc& doc, GstDebugCategory** category,
                        std::vector<Property<SettingsOf<Instance>>> properties) {
  static const PropertyTable<SettingsOf<Instance>> table(&settings_of<Instance>,
                                                         std::move(properties));
  G_OBJECT_CLASS(klass)->finalize = &finalize_private<Instance, get_type>;
  table.install(G_OBJECT_CLASS(klass));
  describe_element(GST_ELEMENT_CLASS(klass), doc, category);
}

// The vfuncs an in-place video filter may set; a null one keeps the base class's.
struct VideoFilterVfuncs {
  gboolean (*start)(GstBaseTransform*) = nullptr;
  gboolean (*stop)(GstBaseTransform*) = nullptr;
  gboolean (*sink_event)(GstBaseTransform*, GstEvent*) = nullptr;
  gboolean (*set_info)(GstVideoFilter*, GstCaps*, GstVideoInfo*, GstCaps*, GstVideoInfo*) = nullptr;
  GstFlowReturn (*transform_frame_ip)(GstVideoFilter*, GstVideoFrame*) = nullptr;
};

// Sets the vfuncs (registered with GST_DEBUG_FUNCPTR) and turns off passthrough: the analyzers
// attach metadata to every buffer, so they must see it even when the caps do not change.
void set_video_filter_vfuncs(GstVideoFilterClass* klass, const VideoFilterVfuncs& vfuncs);

// init_element_class for an in-place GstVideoFilter, with its pad templates and vfuncs. Returns
// the base-transform class for anything else the element sets.
template <typename Instance, GType (*get_type)()>
GstBaseTransformClass* init_video_filter_class(
    gpointer klass, const ElementDoc& doc, GstDebugCategory** category, const char* caps,
    const VideoFilterVfuncs& vfuncs, std::vector<Property<SettingsOf<Instance>>> properties) {
  init_element_class<Instance, get_type>(klass, doc, category, std::move(properties));
  add_pad_templates(GST_ELEMENT_CLASS(klass), caps);
  set_video_filter_vfuncs(GST_VIDEO_FILTER_CLASS(klass), vfuncs);
  return GST_BASE_TRANSFORM_CLASS(klass);
}

// start() and stop() of an element whose State needs nothing from the settings.
template <typename Instance>
gboolean start_empty_state(GstBaseTransform* trans) {
  instance_cast<Instance>(trans)->priv->start({});
  return TRUE;
}

template <typename Instance>
gboolean stop_state(GstBaseTransform* trans) {
  instance_cast<Instance>(trans)->priv->stop();
  return TRUE;
}

}  // namespace hesp::gst

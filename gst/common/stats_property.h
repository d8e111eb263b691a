// SPDX-License-Identifier: LGPL-2.1-or-later
// The read-only `stats` property (a GstStructure of counters) of elements whose counters live in
// their running state rather than in their settings, so the property table cannot serve it: it is
// installed after the table's properties and read from the element itself, and every other
// property still goes to the table. Call install_stats_property() in class_init, after the
// property table is set up:
//
//   static GstStructure* read_stats(GstHespFoo* self);
//   hesp::gst::install_stats_property<GstHespFoo, read_stats>(object_class, "Counters (...)");
#pragma once

#include <gst/gst.h>

#include "common/element_class.h"

namespace hesp::gst {

template <typename Instance, GstStructure* (*Read)(Instance*)>
struct StatsProperty {
  static inline GObjectGetPropertyFunc table_get_property = nullptr;
  static inline guint id = 0;

  static void get_property(GObject* object, guint property_id, GValue* value, GParamSpec* pspec) {
    if (property_id == id) {
      g_value_take_boxed(value, Read(instance_cast<Instance>(object)));
      return;
    }
    table_get_property(object, property_id, value, pspec);
  }
};

// `blurb` must be a string literal: the property keeps it (G_PARAM_STATIC_STRINGS).
template <typename Instance, GstStructure* (*Read)(Instance*)>
void install_stats_property(GObjectClass* object_class, const char* blurb) {
  using Property = StatsProperty<Instance, Read>;
  Property::table_get_property = object_class->get_property;
  object_class->get_property = Property::get_property;
  guint n_properties = 0;
  g_free(g_object_class_list_properties(object_class, &n_properties));
  Property::id = n_properties + 1;
  g_object_class_install_property(
      object_class, Property::id,
      g_param_spec_boxed("stats", "Statistics", blurb, GST_TYPE_STRUCTURE,
                         static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

}  // namespace hesp::gst

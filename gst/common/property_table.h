// SPDX-License-Identifier: LGPL-2.1-or-later
// Declarative GObject properties. An element lists each property once (name, nick, blurb,
// range, flags and the Settings field it reads and writes) and the table installs the
// GParamSpecs and answers set_property and get_property. Hand-written, one property took six
// places (id enum, two switch cases, install call, default constant, field) that had to agree.
//
// A property's default is its field's value in a default-constructed Settings, so the default
// gst-inspect-1.0 documents and the value a new element starts with cannot drift apart.
//
//   static const hesp::gst::PropertyTable<Settings> table(
//       [](GObject* o) { return &GST_HESP_FOO(o)->priv->settings; },
//       {uint_property("clip-length", "Clip length", "Frames per clip", 1, 256,
//                      &Settings::clip_length)});
//   table.install(gobject_class);
//
// Elements do not write this out: init_element_class() (common/element_class.h) builds their
// table from the rows and installs it.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/element_state.h"

namespace hesp::gst {

// Every hesp property is readable, writable and has static strings; properties differ only in
// whether they may change while PLAYING (read per frame) or only up to READY (read in start()).
// READY is the default of every row builder below, so a table marks the PLAYING ones.
constexpr auto kMutableReady =
    static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
constexpr auto kMutablePlaying = static_cast<GParamFlags>(
    G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

// One row of a table. Built with the *_property() functions below; custom_property() is the
// escape hatch for a property whose value is not simply one field.
template <typename Settings>
struct Property {
  std::function<GParamSpec*(const Settings& defaults)> spec;
  std::function<void(Settings&, const GValue*)> set;
  std::function<void(const Settings&, GValue*)> get;
};

namespace detail {
// A row for a field that converts to and from the GValue's C type V with a static_cast; `spec`
// makes the GParamSpec from the default converted to V.
template <typename V, typename Settings, typename T, typename Spec>
Property<Settings> field_row(T Settings::*field, Spec spec, V (*get)(const GValue*),
                             void (*set)(GValue*, V)) {
  return {[=](const Settings& d) { return spec(static_cast<V>(d.*field)); },
          [=](Settings& s, const GValue* v) { s.*field = static_cast<T>(get(v)); },
          [=](const Settings& s, GValue* v) { set(v, static_cast<V>(s.*field)); }};
}
}  // namespace detail

// A guint property. The field may be any arithmetic type (hesp::ClipConfig uses int): the
// range keeps the value representable.
template <typename Settings, typename T>
Property<Settings> uint_property(const char* name, const char* nick, const char* blurb, guint min,
                                 guint max, T Settings::*field, GParamFlags flags = kMutableReady) {
  const auto spec = [=](guint d) {
    return g_param_spec_uint(name, nick, blurb, min, max, d, flags);
  };
  return detail::field_row<guint>(field, spec, g_value_get_uint, g_value_set_uint);
}

template <typename Settings, typename T>
Property<Settings> int_property(const char* name, const char* nick, const char* blurb, gint min,
                                gint max, T Settings::*field, GParamFlags flags = kMutableReady) {
  const auto spec = [=](gint d) { return g_param_spec_int(name, nick, blurb, min, max, d, flags); };
  return detail::field_row<gint>(field, spec, g_value_get_int, g_value_set_int);
}

// A gdouble property; the field may be a float (the value is rounded to it on set).
template <typename Settings, typename T>
Property<Settings> double_property(const char* name, const char* nick, const char* blurb,
                                   gdouble min, gdouble max, T Settings::*field,
                                   GParamFlags flags = kMutableReady) {
  const auto spec = [=](gdouble d) {
    return g_param_spec_double(name, nick, blurb, min, max, d, flags);
  };
  return detail::field_row<gdouble>(field, spec, g_value_get_double, g_value_set_double);
}

template <typename Settings>
Property<Settings> boolean_property(const char* name, const char* nick, const char* blurb,
                                    bool Settings::*field, GParamFlags flags = kMutableReady) {
  const auto spec = [=](gboolean d) { return g_param_spec_boolean(name, nick, blurb, d, flags); };
  return detail::field_row<gboolean>(field, spec, g_value_get_boolean, g_value_set_boolean);
}

// A string property. Setting NULL or "" restores the default, so `prop=""` on a launch line
// means "the default" for every string property (for most of them the default is "").
template <typename Settings>
Property<Settings> string_property(const char* name, const char* nick, const char* blurb,
                                   std::string Settings::*field,
                                   GParamFlags flags = kMutableReady) {
  return {[=](const Settings& d) {
            return g_param_spec_string(name, nick, blurb, (d.*field).c_str(), flags);
          },
          [field](Settings& s, const GValue* v) {
            const gchar* text = g_value_get_string(v);
            s.*field = text && *text ? std::string(text) : Settings{}.*field;
          },
          [field](const Settings& s, GValue* v) { g_value_set_string(v, (s.*field).c_str()); }};
}

// An enum property of a registered GEnum type (so gst-inspect-1.0 lists its values); the field
// is the C++ enum whose values are the GEnum's.
template <typename Settings, typename E>
Property<Settings> enum_property(const char* name, const char* nick, const char* blurb,
                                 GType enum_type, E Settings::*field,
                                 GParamFlags flags = kMutableReady) {
  const auto spec = [=](gint d) {
    return g_param_spec_enum(name, nick, blurb, enum_type, d, flags);
  };
  return detail::field_row<gint>(field, spec, g_value_get_enum, g_value_set_enum);
}

// Any other property: the spec and both directions are written out. set runs under the settings
// lock, like every other row, so it may validate or derive other fields but must not block.
template <typename Settings>
Property<Settings> custom_property(std::function<GParamSpec*(const Settings& defaults)> spec,
                                   std::function<void(Settings&, const GValue*)> set,
                                   std::function<void(const Settings&, GValue*)> get) {
  return {std::move(spec), std::move(set), std::move(get)};
}

namespace detail {
// The table a property belongs to, kept as qdata on its GParamSpec so one set_property serves
// every element without a global registry.
GQuark property_table_quark();
}  // namespace detail

template <typename Settings>
class PropertyTable {
 public:
  // Where an instance keeps its settings.
  using SettingsOf = Guarded<Settings>* (*)(GObject*);

  PropertyTable(SettingsOf settings_of, std::vector<Property<Settings>> properties)
      : settings_of_(settings_of), properties_(std::move(properties)) {}
  PropertyTable(const PropertyTable&) = delete;
  PropertyTable& operator=(const PropertyTable&) = delete;

  // Installs the rows as property ids 1..n in the listed order (the order
  // g_object_class_list_properties and language bindings see) and makes the table the class's
  // set_property and get_property. The table must outlive the class, so keep it in a
  // function-local static.
  void install(GObjectClass* klass) const {
    klass->set_property = &PropertyTable::set_property;
    klass->get_property = &PropertyTable::get_property;
    const Settings defaults{};
    guint id = 0;
    for (const Property<Settings>& p : properties_) {
      GParamSpec* pspec = p.spec(defaults);
      g_param_spec_set_qdata(pspec, detail::property_table_quark(),
                             const_cast<PropertyTable*>(this));
      g_object_class_install_property(klass, ++id, pspec);
    }
  }

 private:
  // GObject has checked the value's type and range against the pspec before calling these.
  static const Property<Settings>* row(GObject* object, guint id, GParamSpec* pspec,
                                       const PropertyTable** table) {
    *table = static_cast<const PropertyTable*>(
        g_param_spec_get_qdata(pspec, detail::property_table_quark()));
    if (*table == nullptr || id == 0 || id > (*table)->properties_.size()) {
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
      return nullptr;
    }
    return &(*table)->properties_[id - 1];
  }

  static void set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
    const PropertyTable* table = nullptr;
    if (const Property<Settings>* p = row(object, id, pspec, &table))
      table->settings_of_(object)->with([&](Settings& s) { p->set(s, value); });
  }

  static void get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
    const PropertyTable* table = nullptr;
    if (const Property<Settings>* p = row(object, id, pspec, &table))
      table->settings_of_(object)->with([&](Settings& s) { p->get(s, value); });
  }

  SettingsOf settings_of_;
  std::vector<Property<Settings>> properties_;
};

}  // namespace hesp::gst

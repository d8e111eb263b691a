// SPDX-License-Identifier: LGPL-2.1-or-later
// The declarative property table (gst/common/property_table.h): first on a small GObject of the
// test's own that has one row of every kind, then on the properties of every hesp element, where
// a row pointing at the wrong Settings field would show as one property changing another.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/element_class.h"
#include "common/element_state.h"
#include "common/property_table.h"

namespace {

enum class Shape { kRound = 0, kSquare = 1, kStar = 2 };

GType test_shape_get_type() {
  static const GEnumValue values[] = {
      {0, "Round", "round"}, {1, "Square", "square"}, {2, "Star", "star"}, {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("HespTestShape", values);
  return type;
}

struct Settings {
  guint count = 7;
  int frames = 8;  // an int field behind a guint property, as hesp::ClipConfig has
  gint offset = -1;
  double gain = 0.5;
  float margin = 0.1f;  // a float field behind a gdouble property
  bool enabled = true;
  std::string path = "-";
  std::string label;
  Shape shape = Shape::kSquare;
  guint even = 4;  // custom: odd values are rounded down
};

struct State {};

// A bare GObject holding the table's Settings the way the elements do.
struct HespTestProps {
  GObject parent;
  hesp::gst::ElementData<Settings, State>* priv;
};
struct HespTestPropsClass {
  GObjectClass parent_class;
};

G_DEFINE_TYPE(HespTestProps, hesp_test_props, G_TYPE_OBJECT)

static void hesp_test_props_class_init(HespTestPropsClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  using namespace hesp::gst;
  gobject_class->finalize = finalize_private<HespTestProps, hesp_test_props_get_type>;
  // READY is the rows' default flag: "count" leaves it out, "frames" names it.
  static const PropertyTable<Settings> properties(
      settings_of<HespTestProps>,
      {
          uint_property("count", "Count", "A guint", 1, 100, &Settings::count),
          uint_property("frames", "Frames", "A guint kept in an int", 1, 256, &Settings::frames,
                        kMutableReady),
          int_property("offset", "Offset", "A gint", -1, 10, &Settings::offset, kMutablePlaying),
          double_property("gain", "Gain", "A gdouble", 0.0, 1.0, &Settings::gain, kMutableReady),
          double_property("margin", "Margin", "A gdouble kept in a float", 0.0, 2.0,
                          &Settings::margin, kMutableReady),
          boolean_property("enabled", "Enabled", "A gboolean", &Settings::enabled, kMutablePlaying),
          string_property("path", "Path", "A string with a default", &Settings::path,
                          kMutableReady),
          string_property("label", "Label", "A string, empty by default", &Settings::label,
                          kMutableReady),
          enum_property("shape", "Shape", "An enum", test_shape_get_type(), &Settings::shape,
                        kMutableReady),
          custom_property<Settings>(
              [](const Settings& d) {
                return g_param_spec_uint("even", "Even", "Rounded down to an even number", 0, 100,
                                         d.even, kMutableReady);
              },
              [](Settings& s, const GValue* v) { s.even = g_value_get_uint(v) & ~1u; },
              [](const Settings& s, GValue* v) { g_value_set_uint(v, s.even); }),
      });
  properties.install(gobject_class);
}

static void hesp_test_props_init(HespTestProps* self) { hesp::gst::init_private(self); }

// Counts GLib-GObject warnings (an out-of-range g_object_set) instead of printing them.
class WarningCounter {
 public:
  WarningCounter() {
    id_ = g_log_set_handler(
        "GLib-GObject", G_LOG_LEVEL_WARNING,
        [](const gchar*, GLogLevelFlags, const gchar*, gpointer count) {
          ++*static_cast<int*>(count);
        },
        &count_);
  }
  ~WarningCounter() { g_log_remove_handler("GLib-GObject", id_); }
  int count() const { return count_; }

 private:
  guint id_ = 0;
  int count_ = 0;
};

class PropertyTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    object_ = static_cast<GObject*>(g_object_new(hesp_test_props_get_type(), nullptr));
  }
  void TearDown() override { g_object_unref(object_); }
  GParamSpec* spec(const char* name) {
    return g_object_class_find_property(G_OBJECT_GET_CLASS(object_), name);
  }
  Settings settings() { return reinterpret_cast<HespTestProps*>(object_)->priv->settings.get(); }

  // Every property's value as g_object_get gives it; a NULL string reads as "<null>".
  struct Values {
    guint count = 0, frames = 0, even = 0;
    gint offset = 0, shape = 0;
    gdouble gain = 0, margin = 0;
    gboolean enabled = FALSE;
    std::string path, label;
  };
  Values values() {
    Values v;
    gchar *path = nullptr, *label = nullptr;
    g_object_get(object_, "count", &v.count, "frames", &v.frames, "offset", &v.offset, "gain",
                 &v.gain, "margin", &v.margin, "enabled", &v.enabled, "path", &path, "label",
                 &label, "shape", &v.shape, "even", &v.even, nullptr);
    v.path = path ? path : "<null>";
    v.label = label ? label : "<null>";
    g_free(path);
    g_free(label);
    return v;
  }
  GObject* object_ = nullptr;
};

TEST_F(PropertyTableTest, InstallsEveryRowInOrderWithItsMetadata) {
  guint n = 0;
  GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(object_), &n);
  const std::vector<std::string> expected = {"count",   "frames", "offset", "gain",  "margin",
                                             "enabled", "path",   "label",  "shape", "even"};
  ASSERT_EQ(n, expected.size());
  for (guint i = 0; i < n; ++i) {
    EXPECT_EQ(specs[i]->name, expected[i]);
    EXPECT_EQ(specs[i]->param_id, i + 1);
  }
  g_free(specs);

  GParamSpec* count = spec("count");
  EXPECT_STREQ(g_param_spec_get_nick(count), "Count");
  EXPECT_STREQ(g_param_spec_get_blurb(count), "A guint");
  EXPECT_EQ(G_PARAM_SPEC_UINT(count)->minimum, 1u);
  EXPECT_EQ(G_PARAM_SPEC_UINT(count)->maximum, 100u);
  EXPECT_EQ(count->flags, hesp::gst::kMutableReady);
  EXPECT_EQ(spec("offset")->flags, hesp::gst::kMutablePlaying);
  EXPECT_EQ(G_PARAM_SPEC_INT(spec("offset"))->minimum, -1);
  EXPECT_DOUBLE_EQ(G_PARAM_SPEC_DOUBLE(spec("margin"))->maximum, 2.0);
  EXPECT_EQ(G_PARAM_SPEC_ENUM(spec("shape"))->enum_class->n_values, 3u);
  EXPECT_EQ(G_PARAM_SPEC_VALUE_TYPE(spec("shape")), test_shape_get_type());
}

TEST_F(PropertyTableTest, DefaultsAreTheSettingsInitialisers) {
  EXPECT_EQ(G_PARAM_SPEC_UINT(spec("count"))->default_value, 7u);
  EXPECT_EQ(G_PARAM_SPEC_UINT(spec("frames"))->default_value, 8u);
  EXPECT_EQ(G_PARAM_SPEC_INT(spec("offset"))->default_value, -1);
  EXPECT_DOUBLE_EQ(G_PARAM_SPEC_DOUBLE(spec("gain"))->default_value, 0.5);
  EXPECT_EQ(G_PARAM_SPEC_DOUBLE(spec("margin"))->default_value, static_cast<double>(0.1f));
  EXPECT_TRUE(G_PARAM_SPEC_BOOLEAN(spec("enabled"))->default_value);
  EXPECT_STREQ(G_PARAM_SPEC_STRING(spec("path"))->default_value, "-");
  EXPECT_STREQ(G_PARAM_SPEC_STRING(spec("label"))->default_value, "");
  EXPECT_EQ(G_PARAM_SPEC_ENUM(spec("shape"))->default_value, 1);
  EXPECT_EQ(G_PARAM_SPEC_UINT(spec("even"))->default_value, 4u);

  const Values v = values();
  EXPECT_EQ(v.count, 7u);
  EXPECT_EQ(v.frames, 8u);
  EXPECT_EQ(v.offset, -1);
  EXPECT_DOUBLE_EQ(v.gain, 0.5);
  EXPECT_EQ(v.margin, static_cast<double>(0.1f));
  EXPECT_TRUE(v.enabled);
  EXPECT_EQ(v.path, "-");
  EXPECT_EQ(v.label, "");
  EXPECT_EQ(v.shape, 1);
  EXPECT_EQ(v.even, 4u);
}

TEST_F(PropertyTableTest, SetValuesReadBackAndReachTheSettings) {
  g_object_set(object_, "count", 42u, "frames", 256u, "offset", 10, "gain", 0.25, "margin", 1.5,
               "enabled", FALSE, "path", "/tmp/out.jsonl", "label", "hello", "shape", 2, nullptr);
  // Each property as g_object_get reads it back (v) and as the element's settings hold it (s).
  const Values v = values();
  const Settings s = settings();
  EXPECT_EQ(v.count, 42u);
  EXPECT_EQ(s.count, 42u);
  EXPECT_EQ(v.frames, 256u);
  EXPECT_EQ(s.frames, 256);
  EXPECT_EQ(v.offset, 10);
  EXPECT_EQ(s.offset, 10);
  EXPECT_DOUBLE_EQ(v.gain, 0.25);
  EXPECT_DOUBLE_EQ(v.margin, 1.5);
  EXPECT_EQ(s.margin, 1.5f);
  EXPECT_FALSE(v.enabled);
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(v.path, "/tmp/out.jsonl");
  EXPECT_EQ(s.path, "/tmp/out.jsonl");
  EXPECT_EQ(v.label, "hello");
  EXPECT_EQ(v.shape, 2);
  EXPECT_EQ(s.shape, Shape::kStar);
}

TEST_F(PropertyTableTest, FloatFieldKeepsTheValueRoundedToFloat) {
  g_object_set(object_, "margin", 0.3, nullptr);
  gdouble margin = 0;
  g_object_get(object_, "margin", &margin, nullptr);
  EXPECT_EQ(settings().margin, 0.3f);
  EXPECT_EQ(margin, static_cast<double>(0.3f));
}

TEST_F(PropertyTableTest, OutOfRangeValuesAreRejected) {
  WarningCounter warnings;
  g_object_set(object_, "count", 0u, nullptr);
  g_object_set(object_, "count", 101u, nullptr);
  g_object_set(object_, "offset", -2, nullptr);
  g_object_set(object_, "gain", 1.5, nullptr);
  g_object_set(object_, "margin", -0.1, nullptr);
  g_object_set(object_, "shape", 7, nullptr);
  EXPECT_EQ(warnings.count(), 6);
  const Settings s = settings();
  EXPECT_EQ(s.count, 7u);
  EXPECT_EQ(s.offset, -1);
  EXPECT_EQ(s.gain, 0.5);
  EXPECT_EQ(s.margin, 0.1f);
  EXPECT_EQ(s.shape, Shape::kSquare);

  // The edges of the range are inside it.
  g_object_set(object_, "count", 1u, nullptr);
  EXPECT_EQ(settings().count, 1u);
  g_object_set(object_, "count", 100u, nullptr);
  EXPECT_EQ(settings().count, 100u);
  EXPECT_EQ(warnings.count(), 6);
}

TEST_F(PropertyTableTest, EmptyOrNullStringRestoresTheDefault) {
  g_object_set(object_, "path", "out.jsonl", "label", "x", nullptr);
  g_object_set(object_, "path", "", "label", "", nullptr);
  EXPECT_EQ(settings().path, "-");
  EXPECT_EQ(settings().label, "");
  g_object_set(object_, "path", "out.jsonl", nullptr);
  g_object_set(object_, "path", nullptr, nullptr);
  EXPECT_EQ(settings().path, "-");
}

TEST_F(PropertyTableTest, CustomRowRunsItsSetter) {
  g_object_set(object_, "even", 9u, nullptr);
  guint even = 0;
  g_object_get(object_, "even", &even, nullptr);
  EXPECT_EQ(even, 8u);
}

TEST_F(PropertyTableTest, InstancesKeepTheirOwnSettings) {
  GObject* other = static_cast<GObject*>(g_object_new(hesp_test_props_get_type(), nullptr));
  g_object_set(object_, "count", 11u, "path", "a", nullptr);
  g_object_set(other, "count", 22u, nullptr);
  guint count = 0;
  gchar* path = nullptr;
  g_object_get(other, "count", &count, "path", &path, nullptr);
  EXPECT_EQ(count, 22u);
  EXPECT_STREQ(path, "-");
  g_free(path);
  EXPECT_EQ(settings().count, 11u);
  g_object_unref(other);
}

TEST(ElementDataTest, FailureIsStickyUntilTheNextStart) {
  struct Counter {
    int frames = 0;
  };
  hesp::gst::ElementData<Settings, Counter> data;
  {
    auto st = data.lock_state();
    EXPECT_FALSE(st.failed());
    st->frames = 3;
    st.set_failed();
  }
  EXPECT_TRUE(data.lock_state().failed());
  EXPECT_EQ(data.lock_state()->frames, 3);
  data.start(Counter{5});
  EXPECT_FALSE(data.lock_state().failed());
  EXPECT_EQ(data.lock_state()->frames, 5);
  data.lock_state().set_failed();
  data.stop();
  EXPECT_FALSE(data.lock_state().failed());
  EXPECT_EQ(data.lock_state().flow_return(true), GST_FLOW_OK);
  EXPECT_FALSE(data.lock_state().failed());
  EXPECT_EQ(data.lock_state().flow_return(false), GST_FLOW_ERROR);
  EXPECT_TRUE(data.lock_state().failed());
  EXPECT_EQ(data.lock_state()->frames, 0);
}

// ---- The elements' tables --------------------------------------------------------------------

const char* const kElements[] = {"hespfacecrop", "hespclipbatch",   "hespinfer",
                                 "hespoverlay",  "hespmetaconvert", "hespmetapublish"};

// The element's own settings (not GstObject's name and parent, nor GstBaseTransform's qos), or
// its own read-only status properties (such as hespinfer's stats).
std::vector<GParamSpec*> own_properties(GstElement* element, bool writable = true) {
  guint n = 0;
  GParamSpec** all = g_object_class_list_properties(G_OBJECT_GET_CLASS(element), &n);
  std::vector<GParamSpec*> out;
  for (guint i = 0; i < n; ++i)
    if (all[i]->owner_type == G_OBJECT_TYPE(element) &&
        ((all[i]->flags & G_PARAM_WRITABLE) != 0) == writable)
      out.push_back(all[i]);
  g_free(all);
  return out;
}

// A valid value other than the default: the far end of the range, the other boolean, another
// enum value, a string.
void other_value(GParamSpec* pspec, GValue* out) {
  g_value_init(out, G_PARAM_SPEC_VALUE_TYPE(pspec));
  g_param_value_set_default(pspec, out);
  if (G_IS_PARAM_SPEC_UINT(pspec)) {
    auto* p = G_PARAM_SPEC_UINT(pspec);
    g_value_set_uint(out, p->default_value == p->maximum ? p->minimum : p->maximum);
  } else if (G_IS_PARAM_SPEC_INT(pspec)) {
    auto* p = G_PARAM_SPEC_INT(pspec);
    g_value_set_int(out, p->default_value == p->maximum ? p->minimum : p->maximum);
  } else if (G_IS_PARAM_SPEC_DOUBLE(pspec)) {
    auto* p = G_PARAM_SPEC_DOUBLE(pspec);
    g_value_set_double(out, p->default_value == p->maximum ? p->minimum : p->maximum);
  } else if (G_IS_PARAM_SPEC_BOOLEAN(pspec)) {
    g_value_set_boolean(out, !G_PARAM_SPEC_BOOLEAN(pspec)->default_value);
  } else if (G_IS_PARAM_SPEC_STRING(pspec)) {
    g_value_set_string(out, "hesp-property-table-test");
  } else if (G_IS_PARAM_SPEC_ENUM(pspec)) {
    auto* p = G_PARAM_SPEC_ENUM(pspec);
    const GEnumClass* e = p->enum_class;
    g_value_set_enum(
        out, e->values[0].value == p->default_value ? e->values[1].value : e->values[0].value);
  } else {
    ADD_FAILURE() << "no test value for property type " << G_PARAM_SPEC_TYPE_NAME(pspec);
  }
}

bool reads_default(GstElement* element, GParamSpec* pspec) {
  GValue value = G_VALUE_INIT;
  g_value_init(&value, G_PARAM_SPEC_VALUE_TYPE(pspec));
  g_object_get_property(G_OBJECT(element), pspec->name, &value);
  const bool is_default = g_param_value_defaults(pspec, &value);
  g_value_unset(&value);
  return is_default;
}

class ElementPropertiesTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ElementPropertiesTest, NewElementReadsEveryDocumentedDefault) {
  GstElement* element = gst_element_factory_make(GetParam(), nullptr);
  ASSERT_NE(element, nullptr) << GetParam() << " not found; is GST_PLUGIN_PATH set?";
  const auto props = own_properties(element);
  EXPECT_GE(props.size(), 5u);
  for (GParamSpec* pspec : props) {
    EXPECT_TRUE(reads_default(element, pspec)) << GetParam() << "::" << pspec->name;
    const GParamFlags rw = static_cast<GParamFlags>(pspec->flags & ~GST_PARAM_MUTABLE_READY &
                                                    ~GST_PARAM_MUTABLE_PLAYING);
    EXPECT_EQ(rw, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS) << pspec->name;
  }
  for (GParamSpec* pspec : own_properties(element, /*writable=*/false)) {
    EXPECT_EQ(pspec->flags, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS) << pspec->name;
    GValue value = G_VALUE_INIT;
    g_value_init(&value, G_PARAM_SPEC_VALUE_TYPE(pspec));
    g_object_get_property(G_OBJECT(element), pspec->name, &value);  // readable in NULL
    g_value_unset(&value);
  }
  gst_object_unref(element);
}

// Each property is set on its own to a value other than its default: it must read that value
// back, and every other property must still read its default.
TEST_P(ElementPropertiesTest, EachPropertyWritesOnlyItsOwnField) {
  GstElement* probe = gst_element_factory_make(GetParam(), nullptr);
  ASSERT_NE(probe, nullptr);
  const auto props = own_properties(probe);
  gst_object_unref(probe);
  for (GParamSpec* pspec : props) {
    GstElement* element = gst_element_factory_make(GetParam(), nullptr);
    GValue set = G_VALUE_INIT, got = G_VALUE_INIT;
    other_value(pspec, &set);
    g_object_set_property(G_OBJECT(element), pspec->name, &set);
    g_value_init(&got, G_PARAM_SPEC_VALUE_TYPE(pspec));
    g_object_get_property(G_OBJECT(element), pspec->name, &got);
    EXPECT_EQ(g_param_values_cmp(pspec, &set, &got), 0)
        << GetParam() << "::" << pspec->name << " set " << g_strdup_value_contents(&set)
        << ", read " << g_strdup_value_contents(&got);
    for (GParamSpec* other : props) {
      if (other == pspec) continue;
      EXPECT_TRUE(reads_default(element, other))
          << "setting " << GetParam() << "::" << pspec->name << " changed " << other->name;
    }
    g_value_unset(&set);
    g_value_unset(&got);
    gst_object_unref(element);
  }
}

INSTANTIATE_TEST_SUITE_P(Elements, ElementPropertiesTest, ::testing::ValuesIn(kElements),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

}  // namespace

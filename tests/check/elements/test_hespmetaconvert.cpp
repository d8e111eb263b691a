// SPDX-License-Identifier: LGPL-2.1-or-later
// hespmetaconvert: the JSON it writes (checked against tests/data/hesp-frame.schema.json and the
// golden file tests/data/metaconvert_golden.jsonl), its output methods and its errors.
//
// After an intended change of the output, regenerate the golden file with
//   HESP_UPDATE_GOLDEN=1 meson test -C BUILD_DIR hespmetaconvert
// and review the diff.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/expression_params.h"
#include "common/face_roi.h"
#include "roi_frames.h"
#include "test_data.h"

namespace {

using namespace hesp::test;  // the frames with face ROIs
using nlohmann::json;

// --- A validator for the JSON Schema keywords the frame schema uses ---------------------------
// type (name or list), properties, required, additionalProperties (bool or schema), items,
// minimum, maximum, enum. Errors name the JSON pointer of the offending value.

bool has_type(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  return false;
}

void validate(const json& schema, const json& v, const std::string& where,
              std::vector<std::string>* errors) {
  if (schema.contains("type")) {
    const json& t = schema["type"];
    bool ok = false;
    if (t.is_string()) ok = has_type(v, t.get<std::string>());
    for (const auto& each : t.is_array() ? t : json::array()) ok = ok || has_type(v, each);
    if (!ok) {
      errors->push_back(where + ": expected " + t.dump() + ", got " + v.dump());
      return;
    }
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& e : schema["enum"]) found = found || e == v;
    if (!found) errors->push_back(where + ": " + v.dump() + " not in " + schema["enum"].dump());
  }
  if (v.is_number()) {
    if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>())
      errors->push_back(where + ": " + v.dump() + " < minimum");
    if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>())
      errors->push_back(where + ": " + v.dump() + " > maximum");
  }
  if (v.is_object()) {
    for (const auto& name : schema.value("required", json::array()))
      if (!v.contains(name.get<std::string>()))
        errors->push_back(where + ": missing required '" + name.get<std::string>() + "'");
    const json properties = schema.value("properties", json::object());
    for (const auto& [key, value] : v.items()) {
      if (properties.contains(key)) {
        validate(properties[key], value, where + "/" + key, errors);
      } else if (schema.contains("additionalProperties")) {
        const json& extra = schema["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>())
          errors->push_back(where + ": unexpected property '" + key + "'");
        else if (extra.is_object())
          validate(extra, value, where + "/" + key, errors);
      }
    }
  }
  if (v.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < v.size(); ++i)
      validate(schema["items"], v[i], where + "/" + std::to_string(i), errors);
  }
}

json load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return json::parse(in);
}

json frame_schema() {
  return load_json(hesp::test::source_path("tests/data/hesp-frame.schema.json"));
}

std::vector<std::string> schema_errors(const json& doc) {
  std::vector<std::string> errors;
  validate(frame_schema(), doc, "", &errors);
  return errors;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += i + "\n";
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// --- The fixed input --------------------------------------------------------------------------

hesp::gst::ExpressionParams unknown() {
  hesp::gst::ExpressionParams p;
  p.label = "unknown";
  p.label_id = -1;
  p.confidence = 0.5;
  p.is_unknown = true;
  p.open_set_score = 0.25;
  p.unknown_threshold = 1.5;
  p.model_name = "faceapi-fer7";
  return p;
}

// Four frames: a face without expression yet; a known and an unknown face; no faces; a person
// ROI (not a face) next to a face ROI that carries no params at all (not from hespfacecrop).
std::vector<GstBuffer*> fixed_input() {
  std::vector<GstBuffer*> buffers;
  GstBuffer* b0 = blank(0);
  face(b0, 40, 30, 80, 60, 0.875, 1);
  buffers.push_back(b0);

  GstBuffer* b1 = blank(40 * GST_MSECOND);
  hesp::gst::set_expression(face(b1, 40, 30, 80, 60, 0.875, 1),
                            hesp::test::happy(0.125, 0.75, 0.125));
  hesp::gst::set_expression(face(b1, 200, 120, 64, 96, 0.5, 2), unknown());
  buffers.push_back(b1);

  buffers.push_back(blank(80 * GST_MSECOND));

  GstBuffer* b3 = blank(120 * GST_MSECOND);
  hesp::test::add_foreign_rois(b3);
  buffers.push_back(b3);
  return buffers;
}

// --- Running the element ------------------------------------------------------------------------

std::string temp_path(const char* name) {
  return std::string(g_get_tmp_dir()) + "/hesp-metaconvert-" + std::to_string(getpid()) + "-" +
         name;
}

struct Output {
  std::vector<std::string> lines;       // file output
  std::vector<GstStructure*> messages;  // "hesp-json" element messages
  ~Output() {
    for (GstStructure* s : messages) gst_structure_free(s);
  }
};

// Pushes `buffers` through hespmetaconvert configured by `setup`, then EOS; collects the file's
// lines (file-path is set here) and the element messages.
void run_element(const std::vector<GstBuffer*>& buffers,
                 const std::function<void(GstElement*)>& setup, Output* out,
                 const std::string& path) {
  // The harness starts the element at once, so it is configured before it is wrapped.
  GstElement* element = gst_element_factory_make("hespmetaconvert", nullptr);
  ASSERT_NE(element, nullptr) << "hespmetaconvert is not registered";
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  g_object_set(element, "file-path", path.c_str(), nullptr);
  setup(element);
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(h, kCaps);
  for (GstBuffer* b : buffers) {
    ASSERT_EQ(gst_harness_push(h, gst_buffer_ref(b)), GST_FLOW_OK);
    GstBuffer* passed = gst_harness_pull(h);
    EXPECT_EQ(passed, b) << "the buffer must pass through unchanged";
    gst_buffer_unref(passed);
  }
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  // The lines must be complete at EOS, before the element is stopped.
  out->lines = read_lines(path);
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (gst_structure_has_name(s, "hesp-json")) out->messages.push_back(gst_structure_copy(s));
    gst_message_unref(m);
  }
  gst_harness_teardown(h);
  // Queued messages hold references to the element, which holds the bus: drop them.
  gst_bus_set_flushing(bus, TRUE);
  gst_object_unref(bus);
}

class MetaConvertTest : public ::testing::Test {
 protected:
  void SetUp() override { buffers_ = fixed_input(); }
  void TearDown() override {
    for (GstBuffer* b : buffers_) gst_buffer_unref(b);
    for (const auto& p : paths_) std::remove(p.c_str());
  }
  std::string path(const char* name) {
    paths_.push_back(temp_path(name));
    return paths_.back();
  }
  static void golden_settings(GstElement* e) {
    g_object_set(e, "source", "test://fixed-input", "tags", "{\"camera\":\"hall\",\"floor\":2}",
                 nullptr);
  }

  std::vector<GstBuffer*> buffers_;
  std::vector<std::string> paths_;
};

TEST_F(MetaConvertTest, OutputMatchesTheGoldenFile) {
  Output r;
  run_element(buffers_, golden_settings, &r, path("golden.jsonl"));
  const std::string golden = hesp::test::source_path("tests/data/metaconvert_golden.jsonl");
  if (!hesp::test::env_or("HESP_UPDATE_GOLDEN", "").empty()) {
    std::ofstream out(golden);
    for (const auto& line : r.lines) out << line << "\n";
    GTEST_SKIP() << "rewrote " << golden;
  }
  const std::vector<std::string> expected = read_lines(golden);
  ASSERT_EQ(r.lines.size(), expected.size()) << "frames without faces are skipped by default";
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(json::parse(r.lines[i]), json::parse(expected[i])) << "line " << i + 1;
}

TEST_F(MetaConvertTest, EveryLineMatchesTheSchema) {
  Output r;
  run_element(
      buffers_, [](GstElement* e) { g_object_set(e, "add-empty-results", TRUE, nullptr); }, &r,
      path("schema.jsonl"));
  ASSERT_EQ(r.lines.size(), 4u);
  for (const auto& line : r.lines) {
    const json doc = json::parse(line);
    EXPECT_TRUE(schema_errors(doc).empty()) << line << "\n" << join(schema_errors(doc));
  }
}

TEST_F(MetaConvertTest, SchemaCheckRejectsMissingAndMistypedFields) {
  Output r;
  run_element(
      buffers_, [](GstElement*) {}, &r, path("mutated.jsonl"));
  ASSERT_GE(r.lines.size(), 2u);
  const json good = json::parse(r.lines[1]);  // known + unknown face
  ASSERT_TRUE(schema_errors(good).empty()) << join(schema_errors(good));
  const std::vector<std::pair<std::string, std::function<void(json&)>>> mutations = {
      {"no resolution", [](json& d) { d.erase("resolution"); }},
      {"string width", [](json& d) { d["resolution"]["width"] = "320"; }},
      {"no timestamp", [](json& d) { d.erase("timestamp"); }},
      {"tags not an object", [](json& d) { d["tags"] = "camera=hall"; }},
      {"string id", [](json& d) { d["objects"][0]["id"] = "1"; }},
      {"fractional x", [](json& d) { d["objects"][0]["x"] = 40.5; }},
      {"box outside 0-1",
       [](json& d) { d["objects"][0]["detection"]["bounding_box"]["x_max"] = 1.5; }},
      {"no bounding box", [](json& d) { d["objects"][0]["detection"].erase("bounding_box"); }},
      {"is_unknown as string",
       [](json& d) { d["objects"][1]["expression"]["is_unknown"] = "true"; }},
      {"no expression label", [](json& d) { d["objects"][0]["expression"].erase("label"); }},
      {"model without name",
       [](json& d) { d["objects"][0]["expression"]["model"] = json::object(); }},
      {"score not a number",
       [](json& d) { d["objects"][0]["expression"]["scores"]["happy"] = "high"; }},
      {"unexpected field", [](json& d) { d["objects"][0]["colour"] = "red"; }},
  };
  for (const auto& [what, mutate] : mutations) {
    json doc = good;
    mutate(doc);
    EXPECT_FALSE(schema_errors(doc).empty()) << "schema check accepted: " << what;
  }
}

TEST_F(MetaConvertTest, FieldsCarryTheMetadata) {
  Output r;
  run_element(buffers_, golden_settings, &r, path("fields.jsonl"));
  ASSERT_EQ(r.lines.size(), 3u);
  const json f = json::parse(r.lines[1]);
  EXPECT_EQ(f["timestamp"], 40 * GST_MSECOND);
  EXPECT_EQ(f["resolution"], (json{{"width", kWidth}, {"height", kHeight}}));
  EXPECT_EQ(f["source"], "test://fixed-input");
  EXPECT_EQ(f["tags"]["camera"], "hall");
  ASSERT_EQ(f["objects"].size(), 2u);
  const json& a = f["objects"][0];
  EXPECT_EQ(a["id"], 1);
  EXPECT_EQ(a["roi_type"], "face");
  EXPECT_EQ(a["x"], 40);
  EXPECT_EQ(a["w"], 80);
  EXPECT_DOUBLE_EQ(a["detection"]["bounding_box"]["x_min"].get<double>(), 40.0 / kWidth);
  EXPECT_DOUBLE_EQ(a["detection"]["bounding_box"]["y_max"].get<double>(), 90.0 / kHeight);
  EXPECT_EQ(a["detection"]["confidence"], 0.875);
  EXPECT_EQ(a["expression"]["label"], "happy");
  EXPECT_EQ(a["expression"]["is_unknown"], false);
  EXPECT_EQ(a["expression"]["model"]["name"], "faceapi-fer7");
  EXPECT_EQ(a["expression"]["scores"]["happy"], 0.75);
  EXPECT_EQ(a["expression"]["clip_end"], 40 * GST_MSECOND);
  const json& b = f["objects"][1];
  EXPECT_EQ(b["id"], 2);
  EXPECT_EQ(b["expression"]["label"], "unknown");
  EXPECT_EQ(b["expression"]["label_id"], -1);
  EXPECT_EQ(b["expression"]["is_unknown"], true);
  EXPECT_FALSE(b["expression"].contains("scores")) << "no class scores were attached";
  // A face ROI without params: box from pixels, no id, no expression; the person ROI is skipped.
  const json last = json::parse(r.lines[2]);
  ASSERT_EQ(last["objects"].size(), 1u);
  EXPECT_FALSE(last["objects"][0].contains("id"));
  EXPECT_FALSE(last["objects"][0].contains("expression"));
  EXPECT_DOUBLE_EQ(last["objects"][0]["detection"]["bounding_box"]["x_max"].get<double>(), 0.75);
}

TEST_F(MetaConvertTest, AddEmptyResultsWritesFramesWithoutFaces) {
  GstBuffer* no_pts = blank(GST_CLOCK_TIME_NONE);
  std::vector<GstBuffer*> input = buffers_;
  input.push_back(no_pts);
  Output skipped, all;
  run_element(
      input, [](GstElement*) {}, &skipped, path("skip.jsonl"));
  run_element(
      input, [](GstElement* e) { g_object_set(e, "add-empty-results", TRUE, nullptr); }, &all,
      path("all.jsonl"));
  gst_buffer_unref(no_pts);
  ASSERT_EQ(skipped.lines.size(), 3u);
  for (const auto& line : skipped.lines) EXPECT_FALSE(json::parse(line)["objects"].empty());
  ASSERT_EQ(all.lines.size(), 5u);
  const json empty = json::parse(all.lines[2]);
  EXPECT_EQ(empty["timestamp"], 80 * GST_MSECOND);
  EXPECT_TRUE(empty["objects"].is_array() && empty["objects"].empty());
  EXPECT_TRUE(json::parse(all.lines[4])["timestamp"].is_null()) << "a buffer without PTS";
}

TEST_F(MetaConvertTest, MessageMethodPostsElementMessagesAndWritesNoFile) {
  const std::string file = path("unused.jsonl");
  Output r;
  run_element(
      buffers_, [](GstElement* e) { gst_util_set_object_arg(G_OBJECT(e), "method", "message"); },
      &r, file);
  EXPECT_FALSE(hesp::test::file_exists(file)) << "method=message must not create file-path";
  ASSERT_EQ(r.messages.size(), 3u);
  const GstClockTime expected_pts[] = {0, 40 * GST_MSECOND, 120 * GST_MSECOND};
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    const gchar* text = gst_structure_get_string(r.messages[i], "json");
    ASSERT_NE(text, nullptr);
    const json doc = json::parse(text);
    EXPECT_TRUE(schema_errors(doc).empty()) << join(schema_errors(doc));
    guint64 pts = 0;
    ASSERT_TRUE(gst_structure_get_uint64(r.messages[i], "timestamp", &pts));
    EXPECT_EQ(pts, expected_pts[i]);
    EXPECT_EQ(doc["timestamp"], pts);
  }
}

TEST_F(MetaConvertTest, BothMethodWritesTheSameJsonToFileAndMessages) {
  Output r;
  run_element(
      buffers_, [](GstElement* e) { gst_util_set_object_arg(G_OBJECT(e), "method", "both"); }, &r,
      path("both.jsonl"));
  ASSERT_EQ(r.lines.size(), 3u);
  ASSERT_EQ(r.messages.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(r.lines[i], gst_structure_get_string(r.messages[i], "json"));
}

TEST_F(MetaConvertTest, JsonIndentSpreadsAFrameOverLines) {
  Output r;
  run_element(
      {buffers_[0]}, [](GstElement* e) { g_object_set(e, "json-indent", 2, nullptr); }, &r,
      path("indent.jsonl"));
  ASSERT_GT(r.lines.size(), 10u);
  EXPECT_EQ(r.lines[1].rfind("  \"objects\"", 0), 0u) << r.lines[1];
  std::string all;
  for (const auto& l : r.lines) all += l + "\n";
  EXPECT_TRUE(schema_errors(json::parse(all)).empty());
}

// --- Errors --------------------------------------------------------------------------------------

// Starts a bare element configured by `setup` and returns the error it posts.
GError* start_error(const std::function<void(GstElement*)>& setup, std::string* debug) {
  GstElement* e = gst_element_factory_make("hespmetaconvert", nullptr);
  EXPECT_NE(e, nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  setup(e);
  EXPECT_EQ(gst_element_set_state(e, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GError* error = nullptr;
  if (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    gchar* dbg = nullptr;
    gst_message_parse_error(m, &error, &dbg);
    if (debug) *debug = dbg ? dbg : "";
    g_free(dbg);
    gst_message_unref(m);
  }
  gst_element_set_state(e, GST_STATE_NULL);
  gst_bus_set_flushing(bus, TRUE);
  gst_object_unref(e);
  gst_object_unref(bus);
  return error;
}

TEST(MetaConvertErrors, UnwritableFilePathNamesThePath) {
  const std::string bad =
      std::string(g_get_tmp_dir()) + "/hesp-no-such-dir-" + std::to_string(getpid()) + "/out.jsonl";
  std::string debug;
  GError* error = start_error(
      [&](GstElement* e) { g_object_set(e, "file-path", bad.c_str(), nullptr); }, &debug);
  ASSERT_NE(error, nullptr) << "no error posted";
  EXPECT_TRUE(g_error_matches(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE));
  EXPECT_NE(std::string(error->message).find(bad), std::string::npos) << error->message;
  EXPECT_NE(debug.find("No such file"), std::string::npos) << debug;
  g_error_free(error);
}

TEST(MetaConvertErrors, MalformedTagsAreRejected) {
  for (const char* tags : {"{\"camera\":", "[1,2]", "\"hall\""}) {
    GError* error = start_error(
        [&](GstElement* e) {
          g_object_set(e, "tags", tags, "method", 1 /* message: no file */, nullptr);
        },
        nullptr);
    ASSERT_NE(error, nullptr) << "tags " << tags << " accepted";
    EXPECT_TRUE(g_error_matches(error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS));
    EXPECT_NE(std::string(error->message).find("'tags'"), std::string::npos) << error->message;
    EXPECT_NE(std::string(error->message).find(tags), std::string::npos) << error->message;
    g_error_free(error);
  }
}

// --- In a pipeline -------------------------------------------------------------------------------

// The default source is the upstream URI, learnt through a URI query across other elements.
TEST(MetaConvertPipeline, SourceDefaultsToTheUpstreamUri) {
  const std::string raw = temp_path("frames.rgb");
  {
    std::ofstream out(raw, std::ios::binary);
    out << std::string(64 * 48 * 3 * 3, '\x20');
  }
  const std::string launch = "filesrc location=\"" + raw +
                             "\" ! rawvideoparse width=64 height=48 format=rgb framerate=25/1 ! "
                             "queue ! hespmetaconvert name=mc method=message "
                             "add-empty-results=true ! fakesink";
  GError* parse_error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &parse_error);
  ASSERT_NE(pipeline, nullptr) << (parse_error ? parse_error->message : "");
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(pipeline);
  std::vector<json> frames;
  bool done = false;
  while (!done) {
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus, 10 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ASSERT_NE(m, nullptr) << "pipeline stalled";
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT) {
      const GstStructure* s = gst_message_get_structure(m);
      if (gst_structure_has_name(s, "hesp-json"))
        frames.push_back(json::parse(gst_structure_get_string(s, "json")));
    } else {
      EXPECT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS);
      done = true;
    }
    gst_message_unref(m);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  gchar* uri = gst_filename_to_uri(raw.c_str(), nullptr);
  ASSERT_EQ(frames.size(), 3u);
  for (const json& f : frames) {
    EXPECT_EQ(f["source"], uri);
    EXPECT_EQ(f["resolution"]["width"], 64);
    EXPECT_TRUE(schema_errors(f).empty()) << join(schema_errors(f));
  }
  g_free(uri);
  std::remove(raw.c_str());
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-hespmetaconvert
 * @title: hespmetaconvert
 *
 * Serialises the faces of each frame (every GstVideoRegionOfInterestMeta with roi_type "face",
 * with its `detection`, `object_id` and `expression` params) to one JSON object per frame, in the
 * layout of Intel DL Streamer's gvametaconvert:
 *
 * |[
 * {"objects":[{"detection":{"bounding_box":{"x_max":0.5,"x_min":0.25,"y_max":0.5,
 *   "y_min":0.25},"confidence":0.9,"label":"face","label_id":0},"expression":{"confidence":
 *   0.87,"is_unknown":false,"label":"happy","label_id":1,"model":{"name":"faceapi"},
 *   "open_set_score":3.2,"scores":{"happy":0.87,"sad":0.13},"unknown_threshold":1.5},"h":60,
 *   "id":3,"roi_type":"face","w":80,"x":80,"y":60}],"resolution":{"height":240,
 *   "width":320},"source":"file:///videos/movie.avi","tags":{},"timestamp":40000000}
 * ]|
 *
 * The video passes through untouched. With `method=file` (default) each object is written as one
 * line (JSON Lines) to `file-path`, standard output when it is "-" (default); each line is
 * flushed as it is written so a reader following the file sees frames as they pass. With
 * `method=message` each object is posted on the bus as an element message named "hesp-json"
 * with the fields `json` (string), `timestamp` and `running-time` (guint64, ns); `method=both`
 * does both. Frames without faces are skipped unless `add-empty-results` is true.
 *
 * `source` defaults to the URI of the upstream source (asked with a URI query, or taken from a
 * `location` tag) and `tags` is a JSON object copied into every frame's object.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -q filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespmetaconvert ! fakesink
 * ]| Faces and track ids as JSON lines on standard output.
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespclipbatch ! hespinfer ! hespmetaconvert file-path=faces.jsonl \
 *     tags='{"camera":"hall"}' ! fakesink
 * ]| Faces with their expressions into a file.
 */
#include "metaconvert/gsthespmetaconvert.h"

#include <gst/video/video.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "common/element_class.h"
#include "common/element_message.h"
#include "common/element_state.h"
#include "common/face_roi.h"
#include "common/frame_json_source.h"
#include "common/property_table.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_meta_convert_debug);
#define GST_CAT_DEFAULT gst_hesp_meta_convert_debug

namespace {

enum class Method { kFile = 0, kMessage = 1, kBoth = 2 };

constexpr const char* kMessageName = "hesp-json";

// Property values; the initialisers are the properties' defaults.
struct Settings {
  Method method = Method::kFile;
  std::string file_path = "-";
  std::string source;
  std::string tags = "{}";
  bool add_empty_results = false;
  gint json_indent = -1;
};

// Runtime state, built in start() and dropped in stop().
struct State {
  std::FILE* file = nullptr;  // null when method=message
  bool owns_file = false;     // false for stdout, which is flushed but never closed
  std::string file_path;
  bool post_messages = false;
  hesp::gst::FrameJsonSource stream;
};

using Private = hesp::gst::ElementData<Settings, State>;

bool writes_file(Method m) { return m == Method::kFile || m == Method::kBoth; }
bool posts_messages(Method m) { return m == Method::kMessage || m == Method::kBoth; }

}  // namespace

struct _GstHespMetaConvert {
  GstBaseTransform parent;
  Private* priv;
};

GType gst_hesp_meta_convert_method_get_type(void) {
  static const GEnumValue values[] = {
      {static_cast<gint>(Method::kFile), "JSON lines to file-path (\"-\" = standard output)",
       "file"},
      {static_cast<gint>(Method::kMessage), "Element messages \"hesp-json\" on the bus", "message"},
      {static_cast<gint>(Method::kBoth), "Both file and messages", "both"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespMetaConvertMethod", values);
  return type;
}

#define gst_hesp_meta_convert_parent_class parent_class
G_DEFINE_TYPE(GstHespMetaConvert, gst_hesp_meta_convert, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(hespmetaconvert, "hespmetaconvert", GST_RANK_NONE,
                            GST_TYPE_HESP_META_CONVERT);

static void close_file(GstHespMetaConvert* self, State& st) {
  if (!st.file) return;
  if (std::fflush(st.file) != 0)
    GST_WARNING_OBJECT(self, "flushing \"%s\" failed: %s", st.file_path.c_str(), g_strerror(errno));
  if (st.owns_file && std::fclose(st.file) != 0)
    GST_WARNING_OBJECT(self, "closing \"%s\" failed: %s", st.file_path.c_str(), g_strerror(errno));
  st.file = nullptr;
}

static gboolean gst_hesp_meta_convert_start(GstBaseTransform* trans) {
  auto* self = GST_HESP_META_CONVERT(trans);
  const Settings s = self->priv->settings.get();
  State fresh;
  if (!fresh.stream.configure(GST_ELEMENT(self), s.source, s.tags)) return FALSE;
  fresh.post_messages = posts_messages(s.method);
  if (writes_file(s.method)) {
    fresh.file_path = s.file_path;
    if (s.file_path == "-") {
      fresh.file = stdout;
    } else {
      fresh.file = std::fopen(s.file_path.c_str(), "w");
      if (!fresh.file) {
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                          ("Could not open file \"%s\" for writing.", s.file_path.c_str()),
                          GST_ERROR_SYSTEM);
        return FALSE;
      }
      fresh.owns_file = true;
    }
  }
  self->priv->start(std::move(fresh));
  return TRUE;
}

static gboolean gst_hesp_meta_convert_stop(GstBaseTransform* trans) {
  auto* self = GST_HESP_META_CONVERT(trans);
  close_file(self, *self->priv->lock_state());
  self->priv->stop();
  return TRUE;
}

static gboolean gst_hesp_meta_convert_sink_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_HESP_META_CONVERT(trans);
  {
    auto st = self->priv->lock_state();
    st->stream.on_event(event);
    if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && st->file && std::fflush(st->file) != 0)
      GST_WARNING_OBJECT(self, "flushing \"%s\" failed: %s", st->file_path.c_str(),
                         g_strerror(errno));
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static GstFlowReturn gst_hesp_meta_convert_transform_ip(GstBaseTransform* trans,
                                                        GstBuffer* buffer) {
  auto* self = GST_HESP_META_CONVERT(trans);
  bool add_empty;
  gint indent;
  self->priv->settings.with([&](const Settings& s) {
    add_empty = s.add_empty_results;
    indent = s.json_indent;
  });
  bool post = false;
  std::string text;
  {
    auto locked = self->priv->lock_state();
    State& st = *locked;
    if (locked.failed()) return GST_FLOW_ERROR;
    const auto faces = hesp::gst::face_rois(buffer);
    if (faces.empty() && !add_empty) return GST_FLOW_OK;
    if (!st.stream.frame_text(trans, buffer, faces, indent, &text))
      return locked.flow_return(false);
    if (st.file) {
      errno = 0;
      const bool written = std::fwrite(text.data(), 1, text.size(), st.file) == text.size() &&
                           std::fputc('\n', st.file) != EOF && std::fflush(st.file) == 0;
      if (!written) {
        GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                          ("Could not write to file \"%s\".", st.file_path.c_str()),
                          GST_ERROR_SYSTEM);
        locked.set_failed();
        return GST_FLOW_ERROR;
      }
    }
    post = st.post_messages;
  }
  // Posted without the state lock: sync bus handlers run in this thread and may call back.
  if (post) {
    const GstClockTime pts = GST_BUFFER_PTS(buffer);
    const GstClockTime running_time =
        gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, pts);
    GstStructure* s =
        gst_structure_new(kMessageName, "json", G_TYPE_STRING, text.c_str(), "timestamp",
                          G_TYPE_UINT64, pts, "running-time", G_TYPE_UINT64, running_time, nullptr);
    hesp::gst::post_element_message(GST_ELEMENT(self), s);
  }
  return GST_FLOW_OK;
}

static void gst_hesp_meta_convert_class_init(GstHespMetaConvertClass* klass) {
  static const hesp::gst::ElementDoc doc{
      "hespmetaconvert", "HESP metadata to JSON", "Filter/Video",
      "Writes each frame's faces and expressions as DL Streamer-style JSON (JSON lines to a file "
      "or standard output, or element messages); the video passes through. Example: "
      "gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! "
      "hespclipbatch ! hespinfer ! hespmetaconvert file-path=faces.jsonl ! fakesink"};
  using namespace hesp::gst;  // the property rows and flags
  init_element_class<GstHespMetaConvert, gst_hesp_meta_convert_get_type>(
      klass, doc, &gst_hesp_meta_convert_debug,
      {
          enum_property("method", "Method",
                        "Where the JSON goes: a file of JSON lines, element messages, or both",
                        GST_TYPE_HESP_META_CONVERT_METHOD, &Settings::method),
          string_property("file-path", "File path",
                          "File the JSON lines are written to (truncated at start); \"-\" = "
                          "standard output",
                          &Settings::file_path),
          source_property<Settings>(),
          tags_property<Settings>(),
          boolean_property("add-empty-results", "Add empty results",
                           "Also write frames without faces (with an empty 'objects' array)",
                           &Settings::add_empty_results, kMutablePlaying),
          int_property("json-indent", "JSON indent",
                       "Spaces per indentation level; -1 = one compact line per frame (JSON "
                       "Lines), other values spread each frame over several lines",
                       -1, 10, &Settings::json_indent, kMutablePlaying),
      });
  add_pad_templates(GST_ELEMENT_CLASS(klass), "video/x-raw(ANY)");

  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_hesp_meta_convert_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_hesp_meta_convert_stop);
  trans_class->set_caps = hesp::gst::frame_json_set_caps<GstHespMetaConvert>;
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_hesp_meta_convert_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_hesp_meta_convert_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
  gst_type_mark_as_plugin_api(GST_TYPE_HESP_META_CONVERT_METHOD, static_cast<GstPluginAPIFlags>(0));
}

static void gst_hesp_meta_convert_init(GstHespMetaConvert* self) {
  hesp::gst::init_in_place(self);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/frame_json_source.h"

#include <nlohmann/json.hpp>

#include "common/guard.h"

namespace hesp::gst {

namespace {

std::string upstream_uri(GstPad* sink_pad) {
  std::string uri;
  GstQuery* query = gst_query_new_uri();
  if (gst_pad_peer_query(sink_pad, query)) {
    gchar* value = nullptr;
    gst_query_parse_uri(query, &value);
    if (value) uri = value;
    g_free(value);
  }
  gst_query_unref(query);
  return uri;
}

}  // namespace

bool FrameJsonSource::configure(GstElement* element, const std::string& source,
                                const std::string& tags) {
  using nlohmann::json;
  json parsed;
  try {
    parsed = json::parse(tags);
  } catch (const json::parse_error& e) {
    GST_ELEMENT_ERROR(element, LIBRARY, SETTINGS,
                      ("The 'tags' property is not valid JSON: %s", tags.c_str()),
                      ("%s", e.what()));
    return false;
  }
  if (!parsed.is_object()) {
    GST_ELEMENT_ERROR(element, LIBRARY, SETTINGS,
                      ("The 'tags' property must be a JSON object like {\"camera\":\"hall\"}, "
                       "got: %s",
                       tags.c_str()),
                      (nullptr));
    return false;
  }
  stream_.tags = std::move(parsed);
  stream_.source = source;
  source_from_property_ = !source.empty();
  source_queried_ = false;
  return true;
}

void FrameJsonSource::set_size(int width, int height) {
  stream_.width = width;
  stream_.height = height;
}

void FrameJsonSource::on_stream_start() {
  if (source_from_property_) return;
  stream_.source.clear();
  source_queried_ = false;
}

void FrameJsonSource::on_tag(GstEvent* event) {
  GstTagList* tags = nullptr;
  gst_event_parse_tag(event, &tags);
  gchar* location = nullptr;
  if (tags && gst_tag_list_get_string(tags, GST_TAG_LOCATION, &location) && stream_.source.empty())
    stream_.source = location;
  g_free(location);
}

void FrameJsonSource::on_event(GstEvent* event) {
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START:
      on_stream_start();
      break;
    case GST_EVENT_TAG:
      on_tag(event);
      break;
    default:
      break;
  }
}

const FrameJsonStream& FrameJsonSource::resolve(GstPad* sink_pad) {
  if (!source_queried_ && stream_.source.empty()) {
    stream_.source = upstream_uri(sink_pad);
    GST_DEBUG_OBJECT(sink_pad, "source: \"%s\"", stream_.source.c_str());
  }
  source_queried_ = true;
  return stream_;
}

bool FrameJsonSource::frame_text(GstBaseTransform* trans, GstBuffer* buffer,
                                 const std::vector<FaceRoi>& faces, int indent, std::string* text) {
  const FrameJsonStream& stream = resolve(GST_BASE_TRANSFORM_SINK_PAD(trans));
  return HESP_GUARD(trans, "Converting the frame's faces to JSON failed",
                    [&] { *text = frame_json_text(frame_json(buffer, faces, stream), indent); });
}

bool frame_size_of_caps(GstElement* element, GstCaps* caps, int* width, int* height) {
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (!gst_structure_get_int(s, "width", width) || !gst_structure_get_int(s, "height", height)) {
    GST_ELEMENT_ERROR(element, CORE, NEGOTIATION, ("Video caps without a fixed width and height."),
                      ("caps: %" GST_PTR_FORMAT, caps));
    return false;
  }
  return true;
}

}  // namespace hesp::gst

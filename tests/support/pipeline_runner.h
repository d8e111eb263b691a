// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs a gst-launch style pipeline to EOS in a test and collects what reached an appsink named
// "sink" (its buffers' face ROIs and clip metas) and the first error message.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <string>
#include <vector>

#include "gsthespclipmeta.h"
#include "test_data.h"

namespace hesp::test {

struct RoiRecord {
  int id = -1;  // object_id.id
  int x = 0, y = 0, w = 0, h = 0;
  // The expression params, when present.
  bool has_expression = false;
  std::string label;
  int label_id = -1;
  double confidence = 0.0, open_set_score = 0.0;
  gboolean is_unknown = FALSE;
  guint64 clip_end = 0;
};

struct ClipRecord {
  guint track_id = 0;
  gint roi_id = -1;
  guint n_frames = 0, n_real_frames = 0, crop_size = 0;
  gsize bytes = 0;
  std::vector<GstClockTime> pts;
  guint64 first_index = 0;
};

struct FrameRecord {
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  std::vector<RoiRecord> faces;
  std::vector<ClipRecord> clips;
};

struct RunResult {
  std::vector<FrameRecord> frames;
  std::vector<std::string> element_messages;  // serialized structures, in order
  std::string error;                          // empty when the pipeline reached EOS
  std::string error_debug;                    // the error's debug text
  GQuark error_domain = 0;
  gint error_code = 0;
};

// Calls fn(GstVideoRegionOfInterestMeta*) on each region-of-interest meta of `buffer`, in order.
template <class F>
void for_each_roi(GstBuffer* buffer, F&& fn) {
  gpointer state = nullptr;
  while (GstMeta* m = gst_buffer_iterate_meta_filtered(buffer, &state,
                                                       GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
    fn(reinterpret_cast<GstVideoRegionOfInterestMeta*>(m));
}

inline std::vector<RoiRecord> rois_of(GstBuffer* buffer) {
  std::vector<RoiRecord> out;
  for_each_roi(buffer, [&](GstVideoRegionOfInterestMeta* roi) {
    RoiRecord r;
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "object_id"))
      gst_structure_get_int(s, "id", &r.id);
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "expression")) {
      r.has_expression = true;
      if (const gchar* label = gst_structure_get_string(s, "label")) r.label = label;
      gst_structure_get_int(s, "label_id", &r.label_id);
      gst_structure_get_double(s, "confidence", &r.confidence);
      gst_structure_get_double(s, "open_set_score", &r.open_set_score);
      gst_structure_get_boolean(s, "is_unknown", &r.is_unknown);
      gst_structure_get_uint64(s, "clip_end", &r.clip_end);
    }
    r.x = roi->x;
    r.y = roi->y;
    r.w = roi->w;
    r.h = roi->h;
    out.push_back(r);
  });
  return out;
}

inline std::vector<ClipRecord> clips_of(GstBuffer* buffer) {
  std::vector<ClipRecord> out;
  gpointer state = nullptr;
  while (GstHespClipMeta* c = gst_buffer_iterate_hesp_clip_meta(buffer, &state)) {
    ClipRecord r;
    r.track_id = c->track_id;
    r.roi_id = c->roi_id;
    r.n_frames = c->n_frames;
    r.n_real_frames = c->n_real_frames;
    r.crop_size = c->crop_size;
    r.bytes = g_bytes_get_size(c->frames);
    r.pts.assign(c->pts, c->pts + c->n_frames);
    r.first_index = c->first_index;
    out.push_back(r);
  }
  return out;
}

inline RunResult run_pipeline(const std::string& description) {
  RunResult result;
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);
  if (!pipeline) {
    result.error = err ? err->message : "parse failed";
    g_clear_error(&err);
    return result;
  }
  if (err) {  // a recoverable parse warning (e.g. unknown property) is a test bug
    result.error = err->message;
    g_clear_error(&err);
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  if (sink) {
    g_object_set(sink, "sync", FALSE, "emit-signals", FALSE, nullptr);
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = [](GstAppSink* s, gpointer data) -> GstFlowReturn {
      GstSample* sample = gst_app_sink_pull_sample(s);
      GstBuffer* buffer = gst_sample_get_buffer(sample);
      FrameRecord f;
      f.pts = GST_BUFFER_PTS(buffer);
      f.faces = rois_of(buffer);
      f.clips = clips_of(buffer);
      static_cast<RunResult*>(data)->frames.push_back(std::move(f));
      gst_sample_unref(sample);
      return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, &result, nullptr);
    gst_object_unref(sink);
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage* msg = nullptr;
  for (;;) {
    msg = gst_bus_timed_pop_filtered(
        bus, 600 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    if (!msg || GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ELEMENT) break;
    gchar* text = gst_structure_to_string(gst_message_get_structure(msg));
    result.element_messages.emplace_back(text);
    g_free(text);
    gst_message_unref(msg);
  }
  if (!msg) {
    result.error = "timeout";
  } else {
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(msg, &e, &debug);
      result.error = e->message;
      result.error_domain = e->domain;
      result.error_code = e->code;
      result.error_debug = debug ? debug : "";
      g_clear_error(&e);
      g_free(debug);
    }
    gst_message_unref(msg);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return result;
}

// Runs `rest` after a source that decodes the KPhotoAlbum face movie to raw video. Tests check
// HESP_REQUIRE_FILE(kphotoalbum_movie()) first.
inline RunResult run_on_movie(const std::string& rest) {
  return run_pipeline("filesrc location=\"" + kphotoalbum_movie() +
                      "\" ! decodebin ! videoconvert ! " + rest);
}

}  // namespace hesp::test

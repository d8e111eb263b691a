// SPDX-License-Identifier: LGPL-2.1-or-later
// Drives a pipeline tail with real frames (a camera move across a photo) through appsrc, to EOS,
// then shuts GStreamer down completely, so valgrind sees every allocation the elements made.
//   run_on_photo PHOTO N_FRAMES WIDTH HEIGHT "hespfacecrop ! hespclipbatch ! fakesink" [CX,CY,W]
// The optional window (centre and width as fractions of the photo) narrows the camera onto part
// of the photo, e.g. a single face, and drifts slightly from there.
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "hesp/pan_zoom.h"

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s PHOTO N_FRAMES WIDTH HEIGHT PIPELINE_TAIL [CX,CY,W]\n", argv[0]);
    return 2;
  }
  gst_init(nullptr, nullptr);
  const int n = std::atoi(argv[2]), w = std::atoi(argv[3]), h = std::atoi(argv[4]);
  int rc = 0;
  {
    hesp::PanZoomPath path;
    float cx, cy, width;
    if (argc == 7 && std::sscanf(argv[6], "%f,%f,%f", &cx, &cy, &width) == 3)
      path = hesp::PanZoomPath{cx, cy, width, cx + 0.01f, cy, width * 0.95f};
    hesp::PanZoomSequence seq(argv[1], w, h, n, path);
    const std::string launch = "appsrc name=src format=time block=true ! " + std::string(argv[5]);
    GError* err = nullptr;
    GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
    if (!pipeline || err) {
      std::fprintf(stderr, "cannot build '%s': %s\n", launch.c_str(), err ? err->message : "?");
      return 2;
    }
    GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    GstCaps* caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width",
                                        G_TYPE_INT, w, "height", G_TYPE_INT, h, "framerate",
                                        GST_TYPE_FRACTION, 25, 1, nullptr);
    g_object_set(src, "caps", caps, nullptr);
    gst_caps_unref(caps);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    for (int i = 0; i < n; ++i) {
      GstBuffer* buffer = gst_buffer_new_allocate(nullptr, static_cast<gsize>(w) * h * 3, nullptr);
      GstMapInfo map;
      gst_buffer_map(buffer, &map, GST_MAP_WRITE);
      seq.render(i, map.data);
      gst_buffer_unmap(buffer, &map);
      GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(i, GST_SECOND, 25);
      if (gst_app_src_push_buffer(GST_APP_SRC(src), buffer) != GST_FLOW_OK) break;
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    gst_object_unref(src);
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus, GST_CLOCK_TIME_NONE, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(msg, &e, nullptr);
      std::fprintf(stderr, "pipeline error: %s\n", e->message);
      g_clear_error(&e);
      rc = 1;
    }
    gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
  gst_deinit();
  return rc;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp faces VIDEO`: the face stage alone. Per frame one JSON line with the tracked face boxes.
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "gst_session.h"
#include "hesp/error.h"
#include "hesp_config.h"

namespace hesp::cli {

namespace {

struct FacesOptions {
  std::string input;
  std::string output;  // empty = stdout
  std::string detector = "faceapi";
  unsigned detector_input_size = 512;
  double sensitivity = 0.7;
  unsigned detection_interval = 1;
  unsigned min_face_size = 30;
  double detection_scale = 1.0;
  bool quiet = false;
};

nlohmann::json frame_json(GstSample* sample, guint64 index) {
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  nlohmann::json faces = nlohmann::json::array();
  gpointer state = nullptr;
  GstMeta* m;
  while ((m = gst_buffer_iterate_meta_filtered(buffer, &state,
                                               GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(m);
    gint id = -1;
    double confidence = 0.0;
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "object_id"))
      gst_structure_get_int(s, "id", &id);
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "detection"))
      gst_structure_get_double(s, "confidence", &confidence);
    faces.push_back({{"id", id}, {"x", roi->x}, {"y", roi->y}, {"w", roi->w}, {"h", roi->h},
                     {"confidence", confidence}});
  }
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  return {{"frame", index},
          {"pts", GST_CLOCK_TIME_IS_VALID(pts) ? nlohmann::json(pts) : nlohmann::json(nullptr)},
          {"faces", faces}};
}

void run_faces(const FacesOptions& opt) {
  init_gstreamer();
  const std::string uri = to_uri(opt.input);
  const std::string description =
      "uridecodebin name=src ! videoconvert ! video/x-raw,format={I420,NV12,RGB,BGR,BGRx,RGBx} ! "
      "hespfacecrop name=faces ! appsink name=sink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);
  if (!pipeline) {
    std::string msg = err ? err->message : "cannot build the pipeline";
    g_clear_error(&err);
    throw Error(msg);
  }
  std::unique_ptr<GstElement, decltype(&gst_object_unref)> guard(pipeline, gst_object_unref);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "uri", uri.c_str(), nullptr);
  gst_object_unref(src);
  GstElement* faces = gst_bin_get_by_name(GST_BIN(pipeline), "faces");
  gst_util_set_object_arg(G_OBJECT(faces), "detector", opt.detector.c_str());
  g_object_set(faces, "detection-interval", opt.detection_interval, "min-face-size",
               opt.min_face_size, "detection-scale", opt.detection_scale, "detector-input-size",
               opt.detector_input_size, "sensitivity", opt.sensitivity, nullptr);
  gst_object_unref(faces);

  std::ofstream file;
  if (!opt.output.empty()) {
    file.open(opt.output);
    if (!file) throw Error("cannot write '" + opt.output + "'");
  }
  std::ostream& out = opt.output.empty() ? std::cout : file;

  struct Ctx {
    std::ostream* out;
    guint64 frames = 0;
  } ctx{&out};
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = [](GstAppSink* appsink, gpointer data) -> GstFlowReturn {
    auto* c = static_cast<Ctx*>(data);
    GstSample* sample = gst_app_sink_pull_sample(appsink);
    if (!sample) return GST_FLOW_EOS;
    *c->out << frame_json(sample, c->frames++).dump() << '\n';
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  };
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, &ctx, nullptr);
  gst_object_unref(sink);

  ProgressLine progress(!opt.quiet);
  run_to_eos(pipeline, [&](gint64 pos, gint64 dur) { progress.update(pos, dur); });
  out.flush();
  progress.finish(std::to_string(ctx.frames) + " frames");
  if (ctx.frames == 0) throw InputError("'" + opt.input + "' holds no video frames");
}

}  // namespace

void add_faces_command(CLI::App& app) {
  auto opt = std::make_shared<FacesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "faces", "Detect and track faces in a video; one JSON line per frame with boxes and ids");
  cmd->add_option("video", opt->input, "Video file or URI (default: the demo video made by setup)");
  cmd->add_option("-o,--output", opt->output, "Write the JSON lines here instead of stdout");
  cmd->add_option("--detector", opt->detector, "Face detector: faceapi, haar, yunet")
      ->check(CLI::IsMember({"faceapi", "haar", "yunet"}));
  cmd->add_option("--detector-input-size", opt->detector_input_size,
                  "faceapi detector: network input side (multiple of 32)")
      ->check(CLI::Range(32, 2048));
  cmd->add_option("--sensitivity", opt->sensitivity, "Face detector sensitivity (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--detection-interval", opt->detection_interval, "Detect on every n-th frame")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--min-face-size", opt->min_face_size, "Smallest face side, pixels")
      ->check(CLI::Range(4, 4096));
  cmd->add_option("--detection-scale", opt->detection_scale, "Detect on the frame scaled by this")
      ->check(CLI::Range(0.1, 1.0));
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress on stderr");
  cmd->callback([opt] {
    if (opt->input.empty()) opt->input = std::string(HESP_CACHE_DIR) + "/demo/demo.mp4";
    run_faces(*opt);
  });
}

}  // namespace hesp::cli

// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp bench`: throughput of pipeline stages on real frames held in memory, so decoding does not
// count. Each case pushes the same frames through appsrc ! <stage> ! fakesink and reports frames
// per second (best of --repeat runs).
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "face_stage.h"
#include "gst_session.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "option_kinds.h"

namespace hesp::cli {

namespace {

struct BenchOptions {
  std::string video;  // empty = the demo video
  FaceStageOptions face;
  int frames = 150;
  int repeat = 2;
  std::string only;
};

struct Frames {
  GstCaps* caps = nullptr;
  std::vector<GstBuffer*> buffers;
  ~Frames() {
    for (auto* b : buffers) gst_buffer_unref(b);
    if (caps) gst_caps_unref(caps);
  }
};

// Decodes the first n frames of the video at the given size and format.
std::unique_ptr<Frames> decode(const std::string& video, int n, int width, int height,
                               const char* format) {
  ElementPtr pipeline =
      parse_pipeline("uridecodebin uri=" + to_uri(video) +
                     " ! videoconvert ! videoscale ! video/x-raw,format=" + format +
                     ",width=" + std::to_string(width) + ",height=" + std::to_string(height) +
                     " ! appsink name=sink sync=false");
  auto frames = std::make_unique<Frames>();
  ElementPtr sink = element_by_name(pipeline.get(), "sink");
  std::unique_ptr<GstBus, GstObjectUnref> bus(gst_element_get_bus(pipeline.get()));
  std::string error;
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    error = "cannot start decoding";
  while (error.empty() && static_cast<int>(frames->buffers.size()) < n) {
    // An error upstream never reaches the sink as EOS: wait for frames and watch the bus.
    if (GstMessage* msg = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)) {
      GError* err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      error = err ? err->message : "decoding failed";
      g_clear_error(&err);
      gst_message_unref(msg);
      break;
    }
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 100 * GST_MSECOND);
    if (!s) {
      if (gst_app_sink_is_eos(GST_APP_SINK(sink.get()))) break;
      continue;
    }
    if (!frames->caps) frames->caps = gst_caps_ref(gst_sample_get_caps(s));
    frames->buffers.push_back(gst_buffer_copy_deep(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  if (!error.empty()) throw InputError("'" + video + "': " + error);
  if (frames->buffers.empty()) throw InputError("'" + video + "' gave no frames");
  return frames;
}

// Frames per second of one pipeline stage over the frames. The face stage's options are set on
// the stage's element named "faces", when it has one.
double measure(const Frames& frames, const std::string& stage, const FaceStageOptions& face) {
  const std::string launch = "appsrc name=src format=time ! " + stage + " ! fakesink sync=false";
  ElementPtr pipeline = parse_pipeline(launch);
  if (ElementPtr faces{gst_bin_get_by_name(GST_BIN(pipeline.get()), "faces")})
    configure_face_stage(faces.get(), face);
  ElementPtr src = element_by_name(pipeline.get(), "src");
  g_object_set(src.get(), "caps", frames.caps, "max-bytes", static_cast<guint64>(0), "block", FALSE,
               nullptr);
  // Queue every frame before the clock starts so the source never waits.
  for (size_t i = 0; i < frames.buffers.size(); ++i) {
    GstBuffer* b = gst_buffer_copy(frames.buffers[i]);  // shares memory, fresh metas
    GST_BUFFER_PTS(b) = gst_util_uint64_scale(i, GST_SECOND, 25);
    gst_app_src_push_buffer(GST_APP_SRC(src.get()), b);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  const auto t0 = std::chrono::steady_clock::now();
  run_to_eos(pipeline.get());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return frames.buffers.size() / s;
}

struct Case {
  const char* name;
  int width, height;
  const char* format;
  std::string stage;
};

void run_bench(BenchOptions opt) {
  init_gstreamer();
  if (opt.video.empty()) opt.video = cache_dir() + "/demo/demo.mp4";
  // facedetect's defaults: scale factor 1.25, 3 neighbours, 30 px faces, frontal default cascade.
  // hespfacecrop at the same settings: sensitivity 5/7 gives round(8 - 7 s) = 3 neighbours.
  const std::string same = "scale-factor=1.25 sensitivity=0.714 min-face-size=30";
  std::vector<Case> cases;
  for (auto [w, h] : {std::pair{640, 360}, {1280, 720}}) {
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    cases.push_back({"facedetect", w, h, "RGB", "facedetect display=false updates=none"});
    cases.push_back({"hespfacecrop (same settings, every frame)", w, h, "RGB",
                     "hespfacecrop " + same});
    cases.push_back({"hespfacecrop (same, I420 luma, every frame)", w, h, "I420",
                     "hespfacecrop " + same});
    cases.push_back({"hespfacecrop (interval 5, scale 0.5)", w, h, "I420",
                     "hespfacecrop " + same + " detection-interval=5 detection-scale=0.5"});
    cases.push_back({"hespfacecrop ! hespclipbatch (interval 5, scale 0.5)", w, h, "I420",
                     "hespfacecrop " + same +
                         " detection-interval=5 detection-scale=0.5 ! hespclipbatch"});
    // What `hesp run` and `hesp faces` run, with the face options given to bench.
    cases.push_back({"hespfacecrop (the face options)", w, h, "I420", "hespfacecrop name=faces"});
  }
  std::printf("%-56s %10s %10s\n", "case", "size", "fps");
  std::unique_ptr<Frames> frames;
  std::string loaded;
  for (const auto& c : cases) {
    if (!opt.only.empty() && std::string(c.name).find(opt.only) == std::string::npos) continue;
    const std::string key = std::to_string(c.width) + "x" + std::to_string(c.height) + c.format;
    if (key != loaded) {
      frames.reset();
      frames = decode(opt.video, opt.frames, c.width, c.height, c.format);
      loaded = key;
    }
    double best = 0;
    for (int r = 0; r < opt.repeat; ++r) best = std::max(best, measure(*frames, c.stage, opt.face));
    std::printf("%-56s %4dx%-5d %10.1f\n", c.name, c.width, c.height, best);
    std::fflush(stdout);
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Frames per second of the face stages (and facedetect) on real decoded frames");
  cmd->add_option("--video", opt->video, "Video to take frames from (default: the demo video)");
  add_ranged(cmd, "--frames", opt->frames, "Frames per case", 1, 100000);
  add_ranged(cmd, "--repeat", opt->repeat, "Runs per case; the best is reported", 1, 100);
  cmd->add_option("--only", opt->only, "Run only cases whose name contains this text");
  add_face_stage_options(cmd, &opt->face);
  add_bench_live_command(*cmd);
  add_bench_tracking_command(*cmd);
  // CLI11 runs a parent's callback after its subcommand's: `bench live` is not also a `bench`.
  cmd->callback([opt, cmd] {
    if (cmd->get_subcommands().empty()) run_bench(*opt);
  });
}

}  // namespace hesp::cli

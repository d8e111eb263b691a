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
#include "gst_session.h"
#include "hesp/error.h"
#include "hesp_config.h"

namespace hesp::cli {

namespace {

struct BenchOptions {
  std::string video = std::string(HESP_CACHE_DIR) + "/demo/demo.mp4";
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
  const std::string launch = "uridecodebin uri=" + to_uri(video) +
                             " ! videoconvert ! videoscale ! video/x-raw,format=" + format +
                             ",width=" + std::to_string(width) + ",height=" +
                             std::to_string(height) + " ! appsink name=sink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!pipeline) {
    std::string msg = err ? err->message : "cannot decode";
    g_clear_error(&err);
    throw Error(msg);
  }
  auto frames = std::make_unique<Frames>();
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  while (static_cast<int>(frames->buffers.size()) < n) {
    GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink));
    if (!s) break;
    if (!frames->caps) frames->caps = gst_caps_ref(gst_sample_get_caps(s));
    frames->buffers.push_back(gst_buffer_copy_deep(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (frames->buffers.empty()) throw InputError("'" + video + "' gave no frames");
  return frames;
}

// Frames per second of one pipeline stage over the frames.
double measure(const Frames& frames, const std::string& stage) {
  const std::string launch = "appsrc name=src format=time ! " + stage + " ! fakesink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!pipeline || err) {
    std::string msg = err ? err->message : "cannot build";
    g_clear_error(&err);
    throw Error("bench pipeline '" + launch + "': " + msg);
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "caps", frames.caps, "max-bytes", static_cast<guint64>(0), "block", FALSE,
               nullptr);
  // Queue every frame before the clock starts so the source never waits.
  for (size_t i = 0; i < frames.buffers.size(); ++i) {
    GstBuffer* b = gst_buffer_copy(frames.buffers[i]);  // shares memory, fresh metas
    GST_BUFFER_PTS(b) = gst_util_uint64_scale(i, GST_SECOND, 25);
    gst_app_src_push_buffer(GST_APP_SRC(src), b);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  gst_object_unref(src);
  const auto t0 = std::chrono::steady_clock::now();
  run_to_eos(pipeline);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  gst_object_unref(pipeline);
  return frames.buffers.size() / s;
}

struct Case {
  const char* name;
  int width, height;
  const char* format;
  std::string stage;
};

void run_bench(const BenchOptions& opt) {
  init_gstreamer();
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
    for (int r = 0; r < opt.repeat; ++r) best = std::max(best, measure(*frames, c.stage));
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
  cmd->add_option("--frames", opt->frames, "Frames per case")->check(CLI::Range(1, 100000));
  cmd->add_option("--repeat", opt->repeat, "Runs per case; the best is reported")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--only", opt->only, "Run only cases whose name contains this text");
  cmd->callback([opt] { run_bench(*opt); });
}

}  // namespace hesp::cli

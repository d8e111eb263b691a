// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp run [VIDEO] -o annotated.mp4 --json results.jsonl`: the whole recognizer on a video file
// (any container and codec GStreamer decodes), or on the demo video when no input is given.
#include <gst/gst.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "gst_session.h"
#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "hesp_config.h"

namespace hesp::cli {

namespace {

struct RunOptions {
  std::string input;
  std::string output = "annotated.mp4";
  std::string json = "results.jsonl";
  std::string model = std::string(HESP_CACHE_DIR) + "/models/faceapi-expression.safetensors";
  // face-api's TinyFaceDetector: finds the turned and tilted faces the Haar cascade misses, at a
  // fraction of its cost (docs/face-detectors.md), so the tool uses it by default.
  std::string detector = "faceapi";
  unsigned detector_input_size = 512;
  double sensitivity = 0.7;
  std::string device = "cpu";
  unsigned detection_interval = 3;
  double detection_scale = 1.0;
  unsigned min_face_size = 40;
  unsigned clip_length = 0;  // 0 = the pack's frames per clip
  unsigned clip_stride = 0;  // 0 = clip length / 2
  unsigned batch_size = 1;
  unsigned threads = 0;
  double smoothing = 0.5;
  std::string extra_classes;  // CLIP zero-shot packs: class names added at run time
  bool no_video = false;
  bool quiet = false;
};

// The parts of the pack's manifest that decide how faces are cut for it.
struct PackInput {
  int size = 112;
  double margin = 0.0;
  int frames_per_clip = 8;
};

PackInput read_pack_input(const std::string& path) {
  ModelPack pack = ModelPack::open(path);
  const nlohmann::json& m = pack.manifest();
  PackInput in;
  in.size = m.at("input").at("size").get<int>();
  in.margin = m.at("input").value("face_margin", 0.0);
  in.frames_per_clip = m.at("frames_per_clip").get<int>();
  return in;
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

void run(RunOptions opt) {
  init_gstreamer();
  if (opt.input.empty()) opt.input = std::string(HESP_CACHE_DIR) + "/demo/demo.mp4";
  const std::string uri = to_uri(opt.input);
  const PackInput in = read_pack_input(opt.model);
  const unsigned clip_length = opt.clip_length ? opt.clip_length : in.frames_per_clip;
  const unsigned stride = opt.clip_stride ? opt.clip_stride : std::max(1u, clip_length / 2);

  std::string launch =
      "uridecodebin name=src ! videoconvert ! video/x-raw,format=I420 ! "
      "hespfacecrop detector=" + opt.detector +
      " detection-interval=" + std::to_string(opt.detection_interval) +
      " detection-scale=" + std::to_string(opt.detection_scale) +
      " detector-input-size=" + std::to_string(opt.detector_input_size) +
      " sensitivity=" + std::to_string(opt.sensitivity) +
      " min-face-size=" + std::to_string(opt.min_face_size) +
      " ! hespclipbatch crop-size=" + std::to_string(in.size) +
      " margin=" + std::to_string(in.margin) + " clip-length=" + std::to_string(clip_length) +
      " clip-stride=" + std::to_string(stride) +
      " ! hespinfer model=" + quote(opt.model) + " device=" + opt.device +
      " batch-size=" + std::to_string(opt.batch_size) + " threads=" + std::to_string(opt.threads) +
      " smoothing=" + std::to_string(opt.smoothing) +
      (opt.extra_classes.empty() ? "" : " extra-classes=" + quote(opt.extra_classes)) +
      " ! hespmetaconvert add-empty-results=true file-path=" + quote(opt.json);
  if (opt.no_video) {
    launch += " ! fakesink sync=false";
  } else {
    launch += " ! hespoverlay ! videoconvert ! x264enc speed-preset=veryfast ! "
              "video/x-h264,profile=high ! mp4mux ! filesink location=" + quote(opt.output);
  }
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!pipeline || err) {
    std::string msg = err ? err->message : "cannot build the pipeline";
    g_clear_error(&err);
    if (pipeline) gst_object_unref(pipeline);
    throw Error(msg);
  }
  std::unique_ptr<GstElement, decltype(&gst_object_unref)> guard(pipeline, gst_object_unref);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "uri", uri.c_str(), nullptr);
  gst_object_unref(src);

  ProgressLine progress(!opt.quiet);
  try {
    run_to_eos(pipeline, [&](gint64 pos, gint64 dur) { progress.update(pos, dur); });
  } catch (const Error& e) {
    // GStreamer's messages ("Could not determine type of stream.") do not say which input.
    throw InputError("'" + opt.input + "': " + e.what());
  }
  progress.finish(opt.no_video ? opt.json : opt.output + " and " + opt.json);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Recognise facial expressions in a video: annotated video + JSON lines per frame");
  cmd->add_option("video", opt->input, "Video file or URI (default: the demo video made by setup)");
  cmd->add_option("-o,--output", opt->output, "Annotated MP4 (H.264) to write");
  cmd->add_option("--json", opt->json, "JSON lines file, one object per frame");
  cmd->add_option("--model", opt->model, "Model pack (default: the face-api expression pack)");
  cmd->add_option("--detector", opt->detector, "Face detector: faceapi, haar, yunet")
      ->check(CLI::IsMember({"faceapi", "haar", "yunet"}));
  cmd->add_option("--detector-input-size", opt->detector_input_size,
                  "faceapi detector: network input side (multiple of 32)")
      ->check(CLI::Range(32, 2048));
  cmd->add_option("--sensitivity", opt->sensitivity, "Face detector sensitivity (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--device", opt->device, "cpu, cuda or cuda:N");
  cmd->add_option("--detection-interval", opt->detection_interval, "Detect faces every n frames")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--detection-scale", opt->detection_scale, "Detect on the frame scaled by this")
      ->check(CLI::Range(0.1, 1.0));
  cmd->add_option("--min-face-size", opt->min_face_size, "Smallest face side, pixels")
      ->check(CLI::Range(4, 4096));
  cmd->add_option("--clip-length", opt->clip_length, "Frames per clip (0 = the model's)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--clip-stride", opt->clip_stride, "Frames between clip starts (0 = half a clip)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--batch-size", opt->batch_size, "Clips per forward pass")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--threads", opt->threads, "Inference threads (0 = one per core)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--smoothing", opt->smoothing, "Per-track smoothing of scores across clips")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--extra-classes", opt->extra_classes,
                  "Comma-separated class names to add at run time (CLIP zero-shot packs)");
  cmd->add_flag("--no-video", opt->no_video, "Write only the JSON lines");
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress on stderr");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace hesp::cli

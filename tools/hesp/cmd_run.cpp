// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp run [VIDEO] -o annotated.mp4 --json results.jsonl`: the whole recognizer on a video file
// (any container and codec GStreamer decodes), or on the demo video when no input is given.
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "face_stage.h"
#include "gst_session.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "option_kinds.h"
#include "output_file.h"
#include "pack_input.h"

namespace hesp::cli {

namespace {

struct RunOptions {
  std::string input;
  std::string output = "annotated.mp4";
  std::string json = "results.jsonl";
  std::string model;  // empty = the face-api expression pack in the cache folder
  FaceStageOptions face;
  std::string device = "cpu";
  unsigned clip_length = 0;  // 0 = the pack's frames per clip
  unsigned clip_stride = 0;  // 0 = clip length / 2
  unsigned batch_size = 1;
  unsigned threads = 0;
  std::string precision = "auto";
  double smoothing = 0.5;
  std::string extra_classes;  // CLIP zero-shot packs: class names added at run time
  unsigned frame_subsample = 1;
  std::string schedule = "auto";
  std::string align = "auto";  // auto = the pack's input.alignment
  bool no_video = false;
  bool quiet = false;
};

void run(RunOptions opt) {
  init_gstreamer();
  if (opt.input.empty()) opt.input = cache_dir() + "/demo/demo.mp4";
  if (opt.model.empty()) opt.model = cache_dir() + "/models/faceapi-expression.safetensors";
  const std::string uri = to_uri(opt.input);
  const PackInput in = read_pack_input(opt.model);
  const unsigned clip_length = opt.clip_length ? opt.clip_length : in.frames_per_clip;
  const unsigned stride = opt.clip_stride ? opt.clip_stride : std::max(1u, clip_length / 2);
  // Outputs are checked before the run, so that a bad path is named as the output it is and not
  // reported minutes later as a failure of the pipeline.
  check_writable(opt.json, "JSON file");
  if (!opt.no_video) check_writable(opt.output, "output video");

  std::string launch =
      std::string("uridecodebin name=src ! videoconvert ! video/x-raw,format=I420 ! ") +
      "hespfacecrop name=faces ! hespclipbatch crop-size=" + std::to_string(in.size) +
      " margin=" + std::to_string(in.margin) +
      " align=" + (opt.align == "auto" ? in.alignment : opt.align) +
      " clip-length=" + std::to_string(clip_length) + " clip-stride=" + std::to_string(stride) +
      // The model runs in a thread of its own, beside decoding and detection (the queue changes
      // no result: hespinfer still sees every frame in order).
      " ! queue max-size-buffers=64 max-size-bytes=0 max-size-time=0 ! hespinfer model=" +
      quote(opt.model) + " device=" + opt.device + " batch-size=" + std::to_string(opt.batch_size) +
      " threads=" + std::to_string(opt.threads) + " smoothing=" + std::to_string(opt.smoothing) +
      (opt.extra_classes.empty() ? "" : " extra-classes=" + quote(opt.extra_classes)) +
      " frame-subsample=" + std::to_string(opt.frame_subsample) + " schedule=" + opt.schedule +
      (opt.precision == "auto" ? "" : " precision=" + opt.precision) +
      " ! hespmetaconvert name=json add-empty-results=true file-path=" + quote(opt.json);
  if (opt.no_video) {
    launch += " ! fakesink sync=false";
  } else {
    launch +=
        " ! hespoverlay ! videoconvert ! x264enc speed-preset=veryfast ! "
        "video/x-h264,profile=high ! mp4mux ! filesink name=video location=" +
        quote(opt.output);
  }
  ElementPtr pipeline = parse_pipeline(launch);
  g_object_set(element_by_name(pipeline.get(), "src").get(), "uri", uri.c_str(), nullptr);
  configure_face_stage(element_by_name(pipeline.get(), "faces").get(), opt.face);

  ProgressLine progress(!opt.quiet);
  try {
    run_to_eos(pipeline.get(), [&](gint64 pos, gint64 dur) { progress.update(pos, dur); });
  } catch (const PipelineError& e) {
    // GStreamer's messages ("Could not determine type of stream.") do not say which file.
    if (e.posted_by("src")) throw InputError("'" + opt.input + "': " + e.what());
    if (e.posted_by("json")) throw Error("JSON file '" + opt.json + "': " + e.what());
    if (e.posted_by("video")) throw Error("output video '" + opt.output + "': " + e.what());
    throw;  // the face stage or the model: their messages name their files
  } catch (const Error& e) {
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
  add_face_stage_options(cmd, &opt->face);
  cmd->add_option("--device", opt->device, "cpu, cuda or cuda:N");
  add_ranged(cmd, "--clip-length", opt->clip_length, "Frames per clip (0 = the model's)", 0, 256);
  add_ranged(cmd, "--clip-stride", opt->clip_stride, "Frames between clip starts (0 = half a clip)",
             0, 1024);
  add_ranged(cmd, "--batch-size", opt->batch_size, "Clips per forward pass", 1, 256);
  add_ranged(cmd, "--threads", opt->threads, "Inference threads (0 = one per core)", 0, 256);
  cmd->add_option("--precision", opt->precision, "CLIP kernel: auto (the pack's), fp32 or bf16")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}));
  add_ranged(cmd, "--smoothing", opt->smoothing, "Per-track smoothing of scores across clips", 0.0,
             0.99);
  cmd->add_option("--extra-classes", opt->extra_classes,
                  "Comma-separated class names to add at run time (CLIP zero-shot packs)");
  add_ranged(cmd, "--frame-subsample", opt->frame_subsample,
             "Look at every n-th frame of a clip only (packs that pool frames without order)", 1,
             256);
  cmd->add_option("--schedule", opt->schedule,
                  "Where the model runs: sync, async (frames never wait; late clips dropped) or "
                  "auto (async for live sources)")
      ->check(CLI::IsMember({"sync", "async", "auto"}));
  cmd->add_option("--align", opt->align,
                  "How face crops are placed: auto (the pack's input.alignment, else none), none "
                  "(the square around the face box), landmarks (face-api's landmark box) or eyes "
                  "(eyes level at fixed places); the last two run face-api's landmark net")
      ->check(CLI::IsMember({"auto", "none", "landmarks", "eyes"}));
  cmd->add_flag("--no-video", opt->no_video, "Write only the JSON lines");
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress on stderr");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace hesp::cli

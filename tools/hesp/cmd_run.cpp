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
#include "inference_chain.h"
#include "option_kinds.h"
#include "output_file.h"
#include "pack_input.h"

namespace hesp::cli {

namespace {

struct RunOptions {
  std::string input;
  std::string output = "annotated.mp4";
  std::string json = "results.jsonl";
  FaceStageOptions face;
  InferenceChainOptions chain;
  bool no_video = false;
  bool quiet = false;
};

bool is_mpegts_path(const std::string& path) {
  auto ends_with = [&](const char* ext) {
    const std::string e(ext);
    return path.size() >= e.size() &&
           g_ascii_strcasecmp(path.c_str() + path.size() - e.size(), ext) == 0;
  };
  return ends_with(".ts") || ends_with(".m2ts");
}

// The annotated video and, beside it, each frame's JSON as a KLV stream (hespklvencode), muxed
// into MPEG-TS. The KLV branch's queue holds the packets while x264enc delays the frames (its
// lookahead), so it is bounded by time, generously, rather than by the 1 s default.
std::string mpegts_output(const std::string& path) {
  return " ! tee name=annotated ! queue ! hespoverlay ! videoconvert ! "
         "x264enc speed-preset=veryfast ! video/x-h264,profile=high ! mpegtsmux name=mux ! "
         "filesink name=video location=" +
         quote(path) +
         " annotated. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=30000000000 ! "
         "hespklvencode ! mux.";
}

void run(RunOptions opt) {
  init_gstreamer();
  if (opt.input.empty()) opt.input = cache_dir() + "/demo/demo.mp4";
  const std::string model = chain_model_path(opt.chain);
  const std::string uri = to_uri(opt.input);
  const PackInput in = read_pack_input(model);
  // Outputs are checked before the run, so that a bad path is named as the output it is and not
  // reported minutes later as a failure of the pipeline.
  check_writable(opt.json, "JSON file");
  if (!opt.no_video) check_writable(opt.output, "output video");

  std::string launch =
      std::string("uridecodebin name=src ! videoconvert ! video/x-raw,format=I420 ! ") +
      "hespfacecrop name=faces ! " + inference_chain(opt.chain, model, in) +
      " ! hespmetaconvert name=json add-empty-results=true file-path=" + quote(opt.json);
  if (opt.no_video) {
    launch += " ! fakesink sync=false";
  } else if (is_mpegts_path(opt.output)) {
    launch += mpegts_output(opt.output);
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
  cmd->add_option("-o,--output", opt->output,
                  "Annotated video to write: MP4 (H.264), or MPEG-TS for a .ts/.m2ts name (H.264 "
                  "and each frame's JSON as a KLV stream)");
  cmd->add_option("--json", opt->json, "JSON lines file, one object per frame");
  add_face_stage_options(cmd, &opt->face);
  add_inference_chain_options(cmd, &opt->chain);
  cmd->add_flag("--no-video", opt->no_video, "Write only the JSON lines");
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress on stderr");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace hesp::cli

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
  std::string publish;  // --publish URI, empty = none
  bool no_video = false;
  bool quiet = false;
};

bool is_host_port(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() || s.size() - colon > 6)
    return false;
  const std::string port = s.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos) return false;
  const int n = std::stoi(port);
  return n >= 1 && n <= 65535;
}

// --publish URI -> the hespmetapublish element that sends there: mqtt://host:port/topic,
// kafka://host:port[,host:port...]/topic (the topic may contain '/') or file:///path (JSON lines
// appended). Checked here so that a typo is one line before the run, not an error minutes in.
std::string publish_element(const std::string& uri) {
  const auto bad = [&] {
    return SettingsError("--publish '" + uri +
                         "': expected mqtt://HOST:PORT/TOPIC, kafka://HOST:PORT[,HOST:PORT]/TOPIC "
                         "or file:///PATH");
  };
  const auto sep = uri.find("://");
  if (sep == std::string::npos) throw bad();
  const std::string scheme = uri.substr(0, sep);
  const std::string rest = uri.substr(sep + 3);
  std::string launch = "hespmetapublish name=publish add-empty-results=true ";
  if (scheme == "file") {
    if (rest.size() < 2 || rest[0] != '/') throw bad();
    return launch + "method=file address=" + quote(rest);
  }
  if (scheme != "mqtt" && scheme != "kafka") throw bad();
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 == rest.size()) throw bad();
  const std::string hosts = rest.substr(0, slash);
  const std::string topic = rest.substr(slash + 1);
  std::size_t start = 0;
  while (true) {
    const auto comma = hosts.find(',', start);
    if (!is_host_port(hosts.substr(start, comma - start))) throw bad();
    if (comma == std::string::npos) break;
    if (scheme == "mqtt") throw bad();  // one MQTT broker only
    start = comma + 1;
  }
  return launch + "method=" + scheme + " address=" + quote(hosts) + " topic=" + quote(topic);
}

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
  const std::string publish = opt.publish.empty() ? "" : " ! " + publish_element(opt.publish);
  if (!opt.no_video) check_writable(opt.output, "output video");

  std::string launch =
      std::string("uridecodebin name=src ! videoconvert ! video/x-raw,format=I420 ! ") +
      "hespfacecrop name=faces ! " + inference_chain(opt.chain, model, in) +
      " ! hespmetaconvert name=json add-empty-results=true file-path=" + quote(opt.json) + publish;
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
    if (e.posted_by("publish")) throw Error("--publish '" + opt.publish + "': " + e.what());
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
  cmd->add_option("--publish", opt->publish,
                  "Also publish each frame's JSON: mqtt://HOST:PORT/TOPIC, "
                  "kafka://HOST:PORT[,HOST:PORT]/TOPIC or file:///PATH (hespmetapublish)");
  add_face_stage_options(cmd, &opt->face);
  add_inference_chain_options(cmd, &opt->chain);
  cmd->add_flag("--no-video", opt->no_video, "Write only the JSON lines");
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress on stderr");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace hesp::cli

// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp faces VIDEO`: the face stage alone. One JSON line per frame with the tracked faces, in the
// layout hespmetaconvert writes (docs/elements-output.md), frames without faces included.
#include <gst/app/gstappsink.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "commands.h"
#include "common/frame_json.h"
#include "face_stage.h"
#include "gst_session.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "output_file.h"

namespace hesp::cli {

namespace {

struct FacesOptions {
  std::string input;
  std::string output;  // empty = stdout
  FaceStageOptions face;
  bool quiet = false;
};

struct Writer {
  OutputFile* out = nullptr;
  hesp::gst::FrameJsonStream stream;
  guint64 frames = 0;
  std::string error;  // the first failed write

  GstFlowReturn write(GstSample* sample) {
    if (const GstCaps* caps = gst_sample_get_caps(sample)) {
      const GstStructure* s = gst_caps_get_structure(caps, 0);
      gst_structure_get_int(s, "width", &stream.width);
      gst_structure_get_int(s, "height", &stream.height);
    }
    const std::string line =
        hesp::gst::frame_json_text(hesp::gst::frame_json(gst_sample_get_buffer(sample), stream));
    ++frames;
    try {
      out->write_line(line);
    } catch (const Error& e) {
      error = e.what();
      return GST_FLOW_ERROR;
    }
    return GST_FLOW_OK;
  }
};

void run_faces(const FacesOptions& opt) {
  init_gstreamer();
  const std::string uri = to_uri(opt.input);
  ElementPtr pipeline = parse_pipeline(
      "uridecodebin name=src ! videoconvert ! video/x-raw,format={I420,NV12,RGB,BGR,BGRx,RGBx} ! "
      "hespfacecrop name=faces ! appsink name=sink sync=false");
  g_object_set(element_by_name(pipeline.get(), "src").get(), "uri", uri.c_str(), nullptr);
  configure_face_stage(element_by_name(pipeline.get(), "faces").get(), opt.face);

  OutputFile out(opt.output);  // checked before the video is decoded
  Writer writer;
  writer.out = &out;
  writer.stream.source = uri;
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = [](GstAppSink* appsink, gpointer data) -> GstFlowReturn {
    GstSample* sample = gst_app_sink_pull_sample(appsink);
    if (!sample) return GST_FLOW_EOS;
    const GstFlowReturn ret = static_cast<Writer*>(data)->write(sample);
    gst_sample_unref(sample);
    return ret;
  };
  gst_app_sink_set_callbacks(GST_APP_SINK(element_by_name(pipeline.get(), "sink").get()),
                             &callbacks, &writer, nullptr);

  ProgressLine progress(!opt.quiet);
  try {
    run_to_eos(pipeline.get(), [&](gint64 pos, gint64 dur) { progress.update(pos, dur); });
  } catch (const PipelineError& e) {
    // The face stage's messages name their files; the decoder's do not say which input.
    if (writer.error.empty()) {
      if (!e.posted_by("src")) throw;
      throw InputError("'" + opt.input + "': " + e.what());
    }
  } catch (const Error& e) {
    if (writer.error.empty()) throw InputError("'" + opt.input + "': " + e.what());
  }
  if (!writer.error.empty()) throw Error(writer.error);
  out.close();
  progress.finish(std::to_string(writer.frames) + " frames");
  if (writer.frames == 0) throw InputError("'" + opt.input + "' holds no video frames");
}

}  // namespace

void add_faces_command(CLI::App& app) {
  auto opt = std::make_shared<FacesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "faces",
      "Detect and track faces in a video; one JSON line per frame (hespmetaconvert's layout)");
  cmd->add_option("video", opt->input, "Video file or URI (default: the demo video made by setup)");
  cmd->add_option("-o,--output", opt->output, "Write the JSON lines here instead of stdout");
  add_face_stage_options(cmd, &opt->face);
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress on stderr");
  cmd->callback([opt] {
    if (opt->input.empty()) opt->input = cache_dir() + "/demo/demo.mp4";
    run_faces(*opt);
  });
}

}  // namespace hesp::cli

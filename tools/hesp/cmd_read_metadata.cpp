// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp read-metadata annotated.ts`: the per-frame JSON that `hesp run -o annotated.ts` muxed into
// the transport stream as KLV packets (hespklvencode), printed back as JSON lines, one per packet,
// in stream order.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "gst_session.h"
#include "hesp/error.h"
#include "klv/klv_codec.h"

namespace hesp::cli {

namespace {

// What the streaming threads tell the command; read after the pipeline has stopped.
struct Reading {
  std::mutex lock;
  GstElement* sink = nullptr;  // the appsink, not owned (the pipeline holds it)
  bool klv_linked = false;
  std::string failure;  // set by the sink callback when a packet is corrupt
  std::size_t packets = 0;
};

bool is_klv(GstPad* pad) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const bool klv = caps && !gst_caps_is_empty(caps) && !gst_caps_is_any(caps) &&
                   gst_structure_has_name(gst_caps_get_structure(caps, 0), "meta/x-klv");
  if (caps) gst_caps_unref(caps);
  return klv;
}

void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
  auto* r = static_cast<Reading*>(data);
  std::lock_guard<std::mutex> l(r->lock);
  // The first KLV stream is read; the video and any further streams stay unlinked, which the
  // demuxer accepts as long as one stream is linked.
  if (r->klv_linked || !is_klv(pad)) return;
  GstPad* sink_pad = gst_element_get_static_pad(r->sink, "sink");
  r->klv_linked = gst_pad_link(pad, sink_pad) == GST_PAD_LINK_OK;
  gst_object_unref(sink_pad);
}

// Whether the file starts like a transport stream: the sync byte 0x47 at the start of three
// consecutive 188-byte packets (MPEG-TS), or 192-byte ones with a 4-byte time code (M2TS).
bool looks_like_mpegts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> head(3 * 192 + 4, 0);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const auto got = static_cast<std::size_t>(in.gcount());
  for (const std::size_t stride : {std::size_t{188}, std::size_t{192}}) {
    const std::size_t first = stride == 192 ? 4 : 0;
    if (got < first + 2 * stride + 1) continue;
    bool sync = true;
    for (int i = 0; i < 3 && sync; ++i) {
      const std::size_t at = first + i * stride;
      sync = at < got && head[at] == 0x47;
    }
    if (sync) return true;
  }
  return false;
}

GstFlowReturn on_sample(GstAppSink* sink, gpointer data) {
  auto* r = static_cast<Reading*>(data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstMapInfo map;
  GstFlowReturn ret = GST_FLOW_OK;
  std::lock_guard<std::mutex> l(r->lock);
  if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    try {
      for (std::string_view value : klv::parse_all(map.data, map.size)) {
        if (!nlohmann::json::accept(value))
          throw CorruptFileError("KLV packet " + std::to_string(r->packets + 1) +
                                 " does not hold JSON");
        std::fwrite(value.data(), 1, value.size(), stdout);
        std::fputc('\n', stdout);
        ++r->packets;
      }
    } catch (const std::exception& e) {
      r->failure = std::string("packet ") + std::to_string(r->packets + 1) + ": " + e.what();
      ret = GST_FLOW_ERROR;
    }
    gst_buffer_unmap(buffer, &map);
  }
  gst_sample_unref(sample);
  return ret;
}

void read_metadata(const std::string& path) {
  init_gstreamer();
  to_uri(path);  // throws, naming the file, when it does not exist or is a folder
  if (!looks_like_mpegts(path)) throw InputError("'" + path + "': not an MPEG transport stream");
  ElementPtr pipeline = parse_pipeline(
      "filesrc name=file ! tsdemux name=demux "
      "appsink name=klv sync=false caps=meta/x-klv");
  g_object_set(element_by_name(pipeline.get(), "file").get(), "location", path.c_str(), nullptr);
  auto reading = std::make_unique<Reading>();
  ElementPtr sink = element_by_name(pipeline.get(), "klv");
  reading->sink = sink.get();
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = on_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink.get()), &callbacks, reading.get(), nullptr);
  g_signal_connect(element_by_name(pipeline.get(), "demux").get(), "pad-added",
                   G_CALLBACK(on_pad_added), reading.get());

  const std::string name = "'" + path + "': ";
  std::string pipeline_error;
  try {
    run_to_eos(pipeline.get());
  } catch (const Error& e) {
    pipeline_error = e.what();
  }
  // The pipeline has stopped: the callbacks are done with `reading`. The most telling reason
  // comes first: a corrupt packet, then a TS without metadata.
  if (!reading->failure.empty()) throw CorruptFileError(name + reading->failure);
  if (!reading->klv_linked) throw InputError(name + "no KLV metadata stream in it");
  if (!pipeline_error.empty()) throw InputError(name + pipeline_error);
  if (std::fflush(stdout) != 0) throw Error("cannot write to standard output");
}

}  // namespace

void add_read_metadata_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "read-metadata",
      "Print the per-frame JSON stored as KLV in an MPEG-TS file (hesp run -o FILE.ts), one line "
      "per frame");
  cmd->add_option("file", *path, "MPEG-TS file written by hesp run -o FILE.ts")->required();
  cmd->callback([path] { read_metadata(*path); });
}

}  // namespace hesp::cli

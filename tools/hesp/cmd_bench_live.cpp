// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp bench live`: the recognizer on a live RTP/H.264 stream. A video file is sent as it is (no
// re-encoding) over UDP on the loopback interface in real time, and received, decoded and labelled
// by the same chain `hesp run` uses, ending in a sink that renders on the clock. Reports how many
// frames arrived, how far the last one came behind the sender, how old the expression results on
// the frames were, and hespinfer's clip counters.
//
// Both ends run in this one process, as two independent pipelines: each picks its own clock and
// base time as two processes would, and they share nothing but the UDP socket. One process keeps
// the measurement simple: the sender's end and the receiver's frames are timed on the same
// monotonic clock with no hand-over between processes, and the sender (no decoding, no encoding)
// costs next to nothing next to the receiver.
#include <gst/gst.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "commands.h"
#include "common/expression_params.h"
#include "common/face_roi.h"
#include "face_stage.h"
#include "gst_session.h"
#include "gsthespclipmeta.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "inference_chain.h"
#include "option_kinds.h"
#include "output_file.h"
#include "pack_input.h"

namespace hesp::cli {

namespace {

struct LiveOptions {
  std::string video;  // empty = the demo video
  FaceStageOptions face;
  InferenceChainOptions chain;  // `hesp run`'s recognition chain and its options
  unsigned max_queued_clips = 0;
  unsigned port = 0;    // 0 = a free one
  unsigned frames = 0;  // 0 = the whole video
  double timeout_s = 600;
  std::string json;
  // Filled from the command line after parsing: the recognition options given (name without
  // dashes, value as given), reported as infer_properties.
  std::vector<std::pair<std::string, std::string>> infer_properties;
};

// The receiver is stalled when no frame reached its sink for this long while the process was idle.
// A model slower than real time may hold the receiver's one streaming thread for many seconds per
// batch, but it keeps a core busy meanwhile; a receiver waiting for data that will not come uses
// next to no CPU.
constexpr double kStallS = 10;
// Idle: under this share of one core over a second (polling and timers use far less).
constexpr double kIdleCpuShare = 0.1;
// After the sender ended, packets it sent and the receiver has not read are given this long.
constexpr double kLatePacketsS = 2;
// Stopping a pipeline joins its streaming threads; one stuck for this long ends the process.
constexpr int kStopS = 20;

double now_s() { return g_get_monotonic_time() / 1e6; }

// What the sender and the receiver record from their streaming threads.
struct Measurements {
  std::atomic<unsigned> sent{0};
  unsigned send_limit = 0;  // 0 = none
  std::atomic<double> send_start{0};
  std::atomic<double> send_end{0};  // when the sender's sink rendered its end of stream
  std::atomic<unsigned> packets_sent{0};
  std::atomic<unsigned> packets_received{0};

  std::atomic<unsigned> received{0};
  std::atomic<double> last_arrival{0};
  std::atomic<unsigned> clips_in{0};  // clips that reached hespinfer

  std::mutex lock;  // the rest: written by the sink's thread, read after it stopped
  std::vector<double> ages_ms;
  unsigned faces = 0;
  unsigned faces_labelled = 0;
};

// Counts (and, past the limit, drops) the access units the sender hands to its payloader.
GstPadProbeReturn on_sent(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto* m = static_cast<Measurements*>(data);
  if (m->send_limit && m->sent.load() >= m->send_limit) return GST_PAD_PROBE_DROP;
  if (m->sent.fetch_add(1) == 0) m->send_start = now_s();
  return GST_PAD_PROBE_OK;
}

// Counts RTP packets (buffers, or buffers in lists) passing a pad into the counter.
GstPadProbeReturn count_packets(GstPadProbeInfo* info, std::atomic<unsigned>* counter) {
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    *counter += gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
  else
    ++*counter;
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_packet_sent(GstPad*, GstPadProbeInfo* info, gpointer data) {
  return count_packets(info, &static_cast<Measurements*>(data)->packets_sent);
}

GstPadProbeReturn on_packet_received(GstPad*, GstPadProbeInfo* info, gpointer data) {
  return count_packets(info, &static_cast<Measurements*>(data)->packets_received);
}

// CPU seconds this process has used, all threads.
double cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Counts the clips entering hespinfer: clip metas on buffers and partial clips in events at EOS.
GstPadProbeReturn on_infer_input(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* m = static_cast<Measurements*>(data);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    gpointer state = nullptr;
    while (gst_buffer_iterate_hesp_clip_meta(GST_PAD_PROBE_INFO_BUFFER(info), &state))
      ++m->clips_in;
  } else if (gst_hesp_clip_event_is_clip(GST_PAD_PROBE_INFO_EVENT(info))) {
    ++m->clips_in;
  }
  return GST_PAD_PROBE_OK;
}

// fakesink's handoff: the frame is rendered, on time or late.
void on_arrival(GstElement*, GstBuffer* buffer, GstPad*, gpointer data) {
  auto* m = static_cast<Measurements*>(data);
  const double t = now_s();
  unsigned faces = 0, labelled = 0;
  std::vector<double> ages;
  for (const gst::FaceRoi& face : gst::face_rois(buffer)) {
    if (face.track_id < 0) continue;
    ++faces;
    gst::ExpressionParams params;
    if (!gst::get_expression(face.meta, &params)) continue;
    ++labelled;
    if (GST_BUFFER_PTS_IS_VALID(buffer) && GST_CLOCK_TIME_IS_VALID(params.clip_end))
      ages.push_back(
          (static_cast<double>(GST_BUFFER_PTS(buffer)) - static_cast<double>(params.clip_end)) /
          1e6);
  }
  {
    std::lock_guard<std::mutex> l(m->lock);
    m->faces += faces;
    m->faces_labelled += labelled;
    m->ages_ms.insert(m->ages_ms.end(), ages.begin(), ages.end());
  }
  m->last_arrival = t;
  ++m->received;
}

// The sender's end of stream, timed in the thread that posts it (the sink's, once it rendered it).
GstBusSyncReply on_sender_message(GstBus*, GstMessage* msg, gpointer data) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
    auto* m = static_cast<Measurements*>(data);
    double expected = 0;
    m->send_end.compare_exchange_strong(expected, now_s());
  }
  return GST_BUS_PASS;
}

gulong add_probe(GstElement* element, const char* pad_name, GstPadProbeType type,
                 GstPadProbeCallback callback, Measurements* m) {
  std::unique_ptr<GstPad, GstObjectUnref> pad(gst_element_get_static_pad(element, pad_name));
  return gst_pad_add_probe(pad.get(), type, callback, m, nullptr);
}

// An error message's text; with `detail`, followed by the last line of its debug text, which
// often says what the message does not ("bind failed: ... Address already in use").
std::string message_text(GstMessage* msg, bool detail = false) {
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  std::string text = err ? err->message : "unknown error";
  if (detail && debug) {
    std::string d = debug;
    const std::size_t newline = d.rfind('\n');
    if (newline != std::string::npos) d = d.substr(newline + 1);
    if (!d.empty()) text += " (" + d + ")";
  }
  g_clear_error(&err);
  g_free(debug);
  return text;
}

// Sets the pipelines to NULL; when that does not finish in kStopS seconds (a streaming thread
// stuck in an element) the process ends with one line, as main() would have.
void stop_pipelines(const std::vector<GstElement*>& pipelines, const std::string& pending_error) {
  std::mutex lock;
  std::condition_variable stopped;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> l(lock);
    if (stopped.wait_for(l, std::chrono::seconds(kStopS), [&] { return done; })) return;
    std::fprintf(stderr, "hesp: %s%sthe pipelines did not stop\n", pending_error.c_str(),
                 pending_error.empty() ? "" : " (and ");
    std::fflush(stderr);
    std::_Exit(1);
  });
  for (GstElement* p : pipelines) gst_element_set_state(p, GST_STATE_NULL);
  {
    std::lock_guard<std::mutex> l(lock);
    done = true;
  }
  stopped.notify_one();
  watchdog.join();
}

// Sets a hespinfer property from its text form, as gst-launch would.
void set_infer_property(GstElement* infer, const std::string& name, const std::string& value) {
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(infer), name.c_str());
  if (!spec)
    throw Error("this build's hespinfer has no property '" + name + "' (its option needs a newer " +
                "hespinfer)");
  GValue v = G_VALUE_INIT;
  g_value_init(&v, spec->value_type);
  const bool ok = gst_value_deserialize(&v, value.c_str());
  if (ok) g_object_set_property(G_OBJECT(infer), name.c_str(), &v);
  g_value_unset(&v);
  if (!ok) throw Error("hespinfer: '" + value + "' is not a valid " + name);
}

// hespinfer's `stats` structure as JSON, null when the element has no such property.
nlohmann::json read_infer_stats(GstElement* infer) {
  if (!g_object_class_find_property(G_OBJECT_GET_CLASS(infer), "stats")) return nullptr;
  GstStructure* stats = nullptr;
  g_object_get(infer, "stats", &stats, nullptr);
  if (!stats) return nullptr;
  nlohmann::json out = nlohmann::json::object();
  const int n = gst_structure_n_fields(stats);
  for (int i = 0; i < n; ++i) {
    const char* field = gst_structure_nth_field_name(stats, i);
    const GValue* v = gst_structure_get_value(stats, field);
    if (G_VALUE_HOLDS_UINT64(v)) {
      out[field] = g_value_get_uint64(v);
    } else if (G_VALUE_HOLDS_INT64(v)) {
      out[field] = g_value_get_int64(v);
    } else if (G_VALUE_HOLDS_UINT(v)) {
      out[field] = g_value_get_uint(v);
    } else if (G_VALUE_HOLDS_INT(v)) {
      out[field] = g_value_get_int(v);
    } else if (G_VALUE_HOLDS_DOUBLE(v)) {
      out[field] = g_value_get_double(v);
    } else if (G_VALUE_HOLDS_BOOLEAN(v)) {
      out[field] = g_value_get_boolean(v) != FALSE;
    } else if (G_VALUE_HOLDS_STRING(v)) {
      const char* s = g_value_get_string(v);
      out[field] = s ? s : "";
    } else {
      gchar* s = gst_value_serialize(v);
      out[field] = s ? s : "";
      g_free(s);
    }
  }
  gst_structure_free(stats);
  return out;
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p * sorted.size()));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

std::string counter(const nlohmann::json& stats, const char* field) {
  if (!stats.contains(field)) return "?";
  const nlohmann::json& v = stats[field];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void print_report(const nlohmann::json& r) {
  const auto line = [](const char* name, const std::string& value) {
    std::printf("%-28s %s\n", name, value.c_str());
  };
  char buf[160];
  line("video", r["video"].get<std::string>());
  line("model", r["model"].get<std::string>());
  line("rtp port", std::to_string(r["port"].get<unsigned>()));
  line("frames sent", std::to_string(r["frames_sent"].get<unsigned>()));
  std::snprintf(buf, sizeof buf, "%.1f s", r["send_s"].get<double>());
  line("sending took", buf);
  line("frames received", std::to_string(r["frames_received"].get<unsigned>()));
  line("rtp packets sent / received",
       std::to_string(r["rtp_packets_sent"].get<unsigned>()) + " / " +
           std::to_string(r["rtp_packets_received"].get<unsigned>()));
  if (r["last_frame_lag_s"].is_null()) {
    line("last frame lag", "n/a");
  } else {
    std::snprintf(buf, sizeof buf, "%.2f s (after the sender finished)",
                  r["last_frame_lag_s"].get<double>());
    line("last frame lag", buf);
  }
  const nlohmann::json& age = r["result_age_ms"];
  if (age["count"].get<unsigned>() == 0) {
    line("result age p50 / p95", "n/a (no results)");
  } else {
    std::snprintf(buf, sizeof buf, "%.0f / %.0f ms (%u results)", age["p50"].get<double>(),
                  age["p95"].get<double>(), age["count"].get<unsigned>());
    line("result age p50 / p95", buf);
  }
  std::snprintf(buf, sizeof buf, "%.3f (%u of %u tracked faces)",
                r["expression_fraction"].is_null() ? 0.0 : r["expression_fraction"].get<double>(),
                r["faces_with_expression"].get<unsigned>(), r["faces"].get<unsigned>());
  line("faces with expression", buf);
  line("clips into hespinfer", std::to_string(r["clips_in"].get<unsigned>()));
  const nlohmann::json& stats = r["infer_stats"];
  if (stats.is_null()) {
    line("hespinfer stats", "n/a (this hespinfer has no stats property)");
    return;
  }
  line("hespinfer mode", counter(stats, "mode"));
  line("clips queued / run", counter(stats, "clips-queued") + " / " + counter(stats, "clips-run"));
  line("clips dropped", counter(stats, "clips-dropped") + " (superseded " +
                            counter(stats, "clips-dropped-superseded") + ", queue full " +
                            counter(stats, "clips-dropped-queue-full") + ", flush " +
                            counter(stats, "clips-dropped-flush") + ")");
  line("frames encoded / cached",
       counter(stats, "frames-encoded") + " / " + counter(stats, "frames-cached"));
}

void run_live(LiveOptions opt) {
  init_gstreamer();
  if (opt.video.empty()) opt.video = cache_dir() + "/demo/demo.mp4";
  const std::string model = chain_model_path(opt.chain);
  to_uri(opt.video);  // throws for a missing file
  if (!opt.json.empty()) check_writable(opt.json, "JSON file");
  const PackInput in = read_pack_input(model);

  // The receiver first: it binds the UDP port (a free one when none is given) and loads the model
  // before anything is sent.
  ElementPtr receiver = parse_pipeline(
      "udpsrc name=src address=127.0.0.1 buffer-size=4194304 "
      "caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96\" ! "
      "rtpjitterbuffer ! rtph264depay ! h264parse ! avdec_h264 ! videoconvert ! "
      "video/x-raw,format=I420 ! hespfacecrop name=faces ! " +
          inference_chain(opt.chain, model, in) +
          " ! fakesink name=sink sync=true signal-handoffs=true",
      "the live bench needs the rtp, udp and libav GStreamer plugins");
  ElementPtr udpsrc = element_by_name(receiver.get(), "src");
  ElementPtr infer = element_by_name(receiver.get(), "infer");
  configure_face_stage(element_by_name(receiver.get(), "faces").get(), opt.face);
  // No chain option: set only when given, so that the element's default holds otherwise.
  for (const auto& [name, value] : opt.infer_properties)
    if (name == "max-queued-clips") set_infer_property(infer.get(), name, value);
  // An explicit port must be free: without reuse, a port in use fails instead of sharing.
  g_object_set(udpsrc.get(), "port", static_cast<gint>(opt.port), "reuse",
               opt.port == 0 ? TRUE : FALSE, nullptr);

  // An AU-aligned H.264 stream from the file, payloaded with SPS/PPS before every key frame so
  // that the receiver can start anywhere; udpsink renders on the sender's clock: real time.
  ElementPtr sender = parse_pipeline(
      "filesrc name=file ! qtdemux ! h264parse name=parse ! rtph264pay config-interval=-1 ! "
      "udpsink name=sink host=127.0.0.1 sync=true",
      "the live bench needs the isomp4, videoparsers, rtp and udp GStreamer plugins");
  g_object_set(element_by_name(sender.get(), "file").get(), "location", opt.video.c_str(), nullptr);

  Measurements m;
  m.send_limit = opt.frames;
  add_probe(element_by_name(sender.get(), "parse").get(), "src", GST_PAD_PROBE_TYPE_BUFFER, on_sent,
            &m);
  const auto packets =
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST);
  add_probe(element_by_name(sender.get(), "sink").get(), "sink", packets, on_packet_sent, &m);
  add_probe(udpsrc.get(), "src", packets, on_packet_received, &m);
  add_probe(
      infer.get(), "sink",
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      on_infer_input, &m);
  g_signal_connect(element_by_name(receiver.get(), "sink").get(), "handoff", G_CALLBACK(on_arrival),
                   &m);
  std::unique_ptr<GstBus, GstObjectUnref> sender_bus(gst_element_get_bus(sender.get()));
  std::unique_ptr<GstBus, GstObjectUnref> receiver_bus(gst_element_get_bus(receiver.get()));
  gst_bus_set_sync_handler(sender_bus.get(), on_sender_message, &m, nullptr);

  std::string error;
  nlohmann::json stats;
  const auto bus_error = [](GstBus* bus, bool detail = false) -> std::string {
    GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (!msg) return "";
    std::string text = message_text(msg, detail);
    gst_message_unref(msg);
    return text;
  };
  const auto sender_error = [&](const std::string& text) {
    return "'" + opt.video + "': " + text +
           " (the live bench sends the H.264 video of an MP4 or MOV file as it is)";
  };

  unsigned port = opt.port;
  // Binding the port (READY) and loading the model (PAUSED) happen in these calls.
  if (gst_element_set_state(receiver.get(), GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
    const std::string text = bus_error(receiver_bus.get(), true);
    error = "cannot receive on UDP port " + std::to_string(opt.port) + ": " +
            (text.empty() ? "the receiver could not start" : text);
  }
  if (error.empty()) {
    gint bound = 0;
    g_object_get(udpsrc.get(), "port", &bound, nullptr);
    port = static_cast<unsigned>(bound);
    g_object_set(element_by_name(sender.get(), "sink").get(), "port", bound, nullptr);
    if (gst_element_set_state(receiver.get(), GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE) {
      error = bus_error(receiver_bus.get());
      if (error.empty()) error = "the receiver could not start";
    }
  }
  // The sender prerolls (its first frame waits in udpsink) before its clock starts.
  if (error.empty()) {
    const GstStateChangeReturn ret = gst_element_set_state(sender.get(), GST_STATE_PAUSED);
    GstState state = GST_STATE_NULL;
    if (ret == GST_STATE_CHANGE_FAILURE ||
        gst_element_get_state(sender.get(), &state, nullptr, 30 * GST_SECOND) !=
            GST_STATE_CHANGE_SUCCESS) {
      const std::string text = bus_error(sender_bus.get());
      error = sender_error(text.empty() ? "no stream to send within 30 s" : text);
    }
  }
  if (error.empty() &&
      gst_element_set_state(receiver.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    error = bus_error(receiver_bus.get());
    if (error.empty()) error = "the receiver could not start";
  }
  const double start = now_s();
  if (error.empty() &&
      gst_element_set_state(sender.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    const std::string text = bus_error(sender_bus.get());
    error = sender_error(text.empty() ? "the sender could not start" : text);
  }

  bool sender_done = false, receiver_done = false, eos_sent = false;
  double last_activity = start, cpu_sample_at = start, cpu_sample = cpu_s();
  while (error.empty() && !receiver_done) {
    if (GstMessage* msg = gst_bus_timed_pop_filtered(
            sender_bus.get(), 50 * GST_MSECOND,
            static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR))) {
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
        error = sender_error(message_text(msg));
      else
        sender_done = true;
      gst_message_unref(msg);
    }
    if (GstMessage* msg = gst_bus_timed_pop_filtered(
            receiver_bus.get(), 50 * GST_MSECOND,
            static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR))) {
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
        error = "receiver: " + message_text(msg);
      else
        receiver_done = true;
      gst_message_unref(msg);
    }
    if (!error.empty() || receiver_done) break;
    const double t = now_s();
    // Activity: a frame at the sink, or a second in which the process kept a tenth of a core busy.
    last_activity = std::max(last_activity, m.last_arrival.load());
    if (t - cpu_sample_at >= 1.0) {
      const double cpu = cpu_s();
      if ((cpu - cpu_sample) / (t - cpu_sample_at) >= kIdleCpuShare) last_activity = t;
      cpu_sample = cpu;
      cpu_sample_at = t;
    }
    const unsigned sent = m.sent, received = m.received;
    const std::string counts =
        " (" + std::to_string(received) + " of " + std::to_string(sent) + " frames arrived)";
    if (opt.timeout_s > 0 && t - start > opt.timeout_s) {
      error = "the live bench did not finish within --timeout " +
              std::to_string(static_cast<int>(opt.timeout_s)) + " s" + counts;
    } else if (t - last_activity > kStallS) {
      error = std::string("the receiver stalled: no frame reached its sink for ") +
              std::to_string(static_cast<int>(kStallS)) + " s" +
              (sender_done ? " after the sender ended" : "") + " (UDP port " +
              std::to_string(port) + ", " + std::to_string(received) + " of " +
              std::to_string(sent) + " frames arrived)";
    } else if (sender_done && !eos_sent &&
               (m.packets_received >= m.packets_sent || t - m.send_end > kLatePacketsS)) {
      // RTP has no end of stream. Every packet is in (or the rest is lost): the receiver gets one
      // at its source, which reaches the sink behind every frame still on its way, and the
      // decoder and hespinfer hand over what they hold.
      gst_element_send_event(receiver.get(), gst_event_new_eos());
      eos_sent = true;
    }
  }
  if (error.empty()) stats = read_infer_stats(infer.get());
  if (error.empty() && m.received == 0)
    error = "no frame reached the receiver (UDP port " + std::to_string(port) + ", " +
            std::to_string(m.packets_received) + " of " + std::to_string(m.packets_sent) +
            " RTP packets arrived)";
  stop_pipelines({sender.get(), receiver.get()}, error);
  if (!error.empty()) throw Error(error);

  nlohmann::json r;
  r["video"] = opt.video;
  r["model"] = model;
  r["port"] = port;
  r["frames_sent"] = m.sent.load();
  r["send_s"] = m.send_end - m.send_start;
  r["frames_received"] = m.received.load();
  r["rtp_packets_sent"] = m.packets_sent.load();
  r["rtp_packets_received"] = m.packets_received.load();
  r["last_frame_lag_s"] = m.received > 0 ? nlohmann::json(m.last_arrival - m.send_end) : nullptr;
  std::vector<double> ages = m.ages_ms;
  std::sort(ages.begin(), ages.end());
  r["result_age_ms"] = {
      {"count", ages.size()},
      {"p50", ages.empty() ? nlohmann::json() : nlohmann::json(percentile(ages, 0.5))},
      {"p95", ages.empty() ? nlohmann::json() : nlohmann::json(percentile(ages, 0.95))}};
  r["faces"] = m.faces;
  r["faces_with_expression"] = m.faces_labelled;
  r["expression_fraction"] =
      m.faces ? nlohmann::json(static_cast<double>(m.faces_labelled) / m.faces) : nullptr;
  r["clips_in"] = m.clips_in.load();
  r["infer_stats"] = stats;
  nlohmann::json given = nlohmann::json::object();
  for (const auto& [name, value] : opt.infer_properties) given[name] = value;
  r["infer_properties"] = given;
  print_report(r);
  if (!opt.json.empty()) {
    OutputFile out(opt.json);
    out.write_line(r.dump(2));
    out.close();
  }
}

}  // namespace

void add_bench_live_command(CLI::App& bench) {
  auto opt = std::make_shared<LiveOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "live",
      "Stream a video as RTP/H.264 over loopback in real time into the recognizer and "
      "report the frames received, their lag and the age of the results");
  add_input_file(cmd, "--video", opt->video,
                 "H.264 MP4/MOV file to send (default: the demo video)");
  add_face_stage_options(cmd, &opt->face);
  // The recognition options are `hesp run`'s; those given are reported as infer_properties.
  const std::size_t first_infer_option = cmd->get_options().size();
  add_inference_chain_options(cmd, &opt->chain);
  add_ranged(cmd, "--max-queued-clips", opt->max_queued_clips,
             "hespinfer: clips waiting for the model at most", 0, 1000000);
  const std::vector<CLI::Option*> options = cmd->get_options();
  auto infer_options = std::make_shared<std::vector<const CLI::Option*>>(
      options.begin() + first_infer_option, options.end());
  add_ranged(cmd, "--port", opt->port, "UDP port on 127.0.0.1 (default: a free one)", 1, 65535);
  add_ranged(cmd, "--frames", opt->frames, "Send only the first n frames (default: all)", 1,
             10000000);
  add_ranged_default(cmd, "--timeout", opt->timeout_s,
                     "Give up after this many seconds in all (0 = no limit)", 0.0, 1e6);
  cmd->add_option("--json", opt->json, "Also write the numbers to this JSON file");
  cmd->callback([opt, infer_options] {
    LiveOptions o = *opt;
    for (const CLI::Option* option : *infer_options)
      if (option->count() > 0 && option->get_lnames().front() != "model")
        o.infer_properties.emplace_back(option->get_lnames().front(), option->as<std::string>());
    run_live(std::move(o));
  });
}

}  // namespace hesp::cli

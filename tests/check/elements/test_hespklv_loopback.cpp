// SPDX-License-Identifier: LGPL-2.1-or-later
// The KLV metadata over the network: frames with faces -> hespklvencode beside x264enc ->
// mpegtsmux -> RTP (rtpmp2tpay) -> UDP on 127.0.0.1 -> rtpmp2tdepay -> tsdemux -> hespklvdecode.
// Every frame's packet arrives with the JSON the sender wrote, byte for byte, and hespmetaconvert
// after the decoder writes the same faces for every frame.
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/expression_params.h"
#include "common/face_roi.h"
#include "klv/klv_codec.h"

namespace {

using nlohmann::json;

constexpr int kFrames = 30;

std::string temp_path(const char* name) {
  return std::string(g_get_tmp_dir()) + "/hesp-klv-loopback-" + std::to_string(getpid()) + "-" +
         name;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Faces that change from frame to frame: one moving face on every frame, with an expression on
// every third, and a second face on even frames.
GstPadProbeReturn add_faces(GstPad*, GstPadProbeInfo* info, gpointer) {
  GstBuffer* b = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
  GST_PAD_PROBE_INFO_DATA(info) = b;
  const int n = static_cast<int>(GST_BUFFER_OFFSET(b));
  auto* face =
      hesp::gst::add_face_roi(b, hesp::Box{10.0f + n, 20, 40, 50}, 0.5 + n / 100.0, 7, 160, 120);
  if (n % 3 == 0) {
    hesp::gst::ExpressionParams p;
    p.label = n % 2 ? "sad" : "happy";
    p.label_id = n % 2;
    p.confidence = 0.6 + n / 1000.0;
    p.is_unknown = false;
    p.open_set_score = 1.0 / (n + 1);
    p.unknown_threshold = 0.25;
    p.model_name = "test";
    p.class_labels = {"happy", "sad"};
    p.class_scores = {0.4 - n / 1000.0, 0.6 + n / 1000.0};
    hesp::gst::set_expression(face, p);
  }
  if (n % 2 == 0) hesp::gst::add_face_roi(b, hesp::Box{100, 60, 30, 30}, 0.9, 8, 160, 120);
  return GST_PAD_PROBE_OK;
}

// The raw KLV values arriving at the decoder.
struct Received {
  std::mutex lock;
  std::vector<std::string> values;
};

GstPadProbeReturn record_klv(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* r = static_cast<Received*>(data);
  GstMapInfo map;
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  if (gst_buffer_get_size(b) > 0 && gst_buffer_map(b, &map, GST_MAP_READ)) {
    const auto parsed = hesp::klv::parse(map.data, map.size);
    std::lock_guard<std::mutex> l(r->lock);
    r->values.push_back(parsed.status == hesp::klv::ParseStatus::kOk
                            ? std::string(parsed.packet.value)
                            : "bad: " + parsed.message);
    gst_buffer_unmap(b, &map);
  }
  return GST_PAD_PROBE_OK;
}

GstElement* launch(const std::string& description) {
  GError* error = nullptr;
  GstElement* p = gst_parse_launch(description.c_str(), &error);
  EXPECT_EQ(error, nullptr) << (error ? error->message : "");
  if (error) g_error_free(error);
  return p;
}

// Waits for EOS or an error on the pipeline's bus; returns the error text, "" on EOS, or
// "timeout".
std::string wait_end(GstElement* pipeline, GstClockTime timeout) {
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  std::string result = "timeout";
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    result = std::string(err->message) + " (" + (debug ? debug : "") + ")";
    g_error_free(err);
    g_free(debug);
  } else if (msg) {
    result.clear();
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  return result;
}

TEST(HespKlvLoopback, RtpOverUdpKeepsEveryFramesJson) {
  const std::string sent_path = temp_path("sent.jsonl");
  const std::string received_path = temp_path("received.jsonl");
  // The receiver binds a free port first (port=0) and the sender is pointed at it.
  GstElement* receiver = launch(
      "udpsrc name=udp port=0 address=127.0.0.1 buffer-size=4194304 "
      "caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=MP2T\" ! "
      "rtpmp2tdepay ! tsdemux name=demux "
      "demux. ! queue ! h264parse ! avdec_h264 ! dec.sink "
      "demux. ! queue ! meta/x-klv ! dec.klv_sink "
      "hespklvdecode name=dec ! hespmetaconvert add-empty-results=true source=loopback "
      "file-path=\"" +
      received_path + "\" ! fakesink sync=false");
  ASSERT_NE(receiver, nullptr);
  Received received;
  GstElement* dec = gst_bin_get_by_name(GST_BIN(receiver), "dec");
  GstPad* klv_pad = gst_element_get_static_pad(dec, "klv_sink");
  gst_pad_add_probe(klv_pad, GST_PAD_PROBE_TYPE_BUFFER, record_klv, &received, nullptr);
  gst_object_unref(klv_pad);
  gst_object_unref(dec);
  ASSERT_NE(gst_element_set_state(receiver, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* udp = gst_bin_get_by_name(GST_BIN(receiver), "udp");
  gint port = 0;
  g_object_get(udp, "port", &port, nullptr);
  gst_object_unref(udp);
  ASSERT_GT(port, 0) << "udpsrc did not bind a port";

  // The sender runs at the frame rate (sync=true) so the socket never overflows, and holds no
  // frames back in the encoder, so the receiver sees the last one without an EOS.
  GstElement* sender = launch(
      "videotestsrc name=src num-buffers=" + std::to_string(kFrames) +
      " ! video/x-raw,format=I420,width=160,height=120,framerate=25/1 ! "
      "hespmetaconvert add-empty-results=true source=loopback file-path=\"" +
      sent_path +
      "\" ! tee name=t ! queue ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! "
      "mpegtsmux name=mux alignment=7 ! rtpmp2tpay ! udpsink host=127.0.0.1 sync=true name=out "
      "t. ! queue ! hespklvencode source=loopback ! mux.");
  ASSERT_NE(sender, nullptr);
  GstElement* out = gst_bin_get_by_name(GST_BIN(sender), "out");
  g_object_set(out, "port", port, nullptr);
  gst_object_unref(out);
  GstElement* src = gst_bin_get_by_name(GST_BIN(sender), "src");
  GstPad* src_pad = gst_element_get_static_pad(src, "src");
  gst_pad_add_probe(src_pad, GST_PAD_PROBE_TYPE_BUFFER, add_faces, nullptr, nullptr);
  gst_object_unref(src_pad);
  gst_object_unref(src);
  ASSERT_NE(gst_element_set_state(sender, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(wait_end(sender, 30 * GST_SECOND), "");
  gst_element_set_state(sender, GST_STATE_NULL);
  gst_object_unref(sender);

  // UDP has no end of stream: once the packets have had time to arrive, end the receiver, which
  // drains the decoder's queues.
  for (int i = 0; i < 50; ++i) {
    {
      std::lock_guard<std::mutex> l(received.lock);
      if (received.values.size() >= static_cast<std::size_t>(kFrames)) break;
    }
    g_usleep(100 * 1000);
  }
  gst_element_send_event(receiver, gst_event_new_eos());
  EXPECT_EQ(wait_end(receiver, 10 * GST_SECOND), "");
  gst_element_set_state(receiver, GST_STATE_NULL);
  gst_object_unref(receiver);

  const auto sent = read_lines(sent_path);
  const auto decoded = read_lines(received_path);
  ASSERT_EQ(sent.size(), static_cast<std::size_t>(kFrames));
  {
    std::lock_guard<std::mutex> l(received.lock);
    ASSERT_EQ(received.values.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i)
      EXPECT_EQ(received.values[i], sent[i]) << "packet " << i;
  }
  // After the decoder: the same faces per frame. The timestamps are the receiver's (tsdemux
  // re-times a live stream against its clock), in the frames' order.
  ASSERT_EQ(decoded.size(), sent.size());
  gint64 last = -1;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    json a = json::parse(sent[i]), b = json::parse(decoded[i]);
    EXPECT_GT(b["timestamp"].get<gint64>(), last) << "frame " << i;
    last = b["timestamp"].get<gint64>();
    a.erase("timestamp");
    b.erase("timestamp");
    EXPECT_EQ(b, a) << "frame " << i;
  }
  EXPECT_GT(json::parse(decoded[0])["objects"].size(), 1u);
  std::remove(sent_path.c_str());
  std::remove(received_path.c_str());
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
// hespklvencode and hespklvdecode: one KLV packet per frame holding the frame's JSON, timestamped
// like the frame; and the faces attached again from those packets, so hespmetaconvert's JSON
// after the decoder equals the JSON before the encoder. Also how the decoder pairs packets and
// frames (a frame without a packet, a packet without a frame, another producer's packet) and its
// error on a corrupt packet.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/expression_params.h"
#include "common/face_roi.h"
#include "common/frame_json.h"
#include "klv/klv_codec.h"
#include "roi_frames.h"

namespace {

using namespace hesp::test;  // the frames with face ROIs
using nlohmann::json;

constexpr const char* kKlvCaps = "meta/x-klv,parsed=(boolean)true";
constexpr GstClockTime kFrame = 40 * GST_MSECOND;

// Three frames: a tracked face with an expression and one without; no faces; a face ROI with
// no params at all next to a person ROI (which the JSON leaves out).
std::vector<GstBuffer*> frames_with_faces() {
  GstBuffer* b0 = blank(0);
  auto happy = hesp::test::happy(0.1, 0.7312, 0.1688);
  happy.clip_frames = 2;
  hesp::gst::set_expression(face(b0, 40, 30, 80, 60, 0.875, 1), happy);
  face(b0, 200.5f, 120, 64, 96, 0.51, 2);
  GstBuffer* b2 = blank(2 * kFrame);
  hesp::test::add_foreign_rois(b2);
  return {b0, blank(kFrame), b2};
}

std::string frame_text(GstBuffer* b) {
  const hesp::gst::FrameJsonStream stream{kWidth, kHeight, "", json::object()};
  return hesp::gst::frame_json_text(hesp::gst::frame_json(b, stream));
}

std::string value_of(GstBuffer* klv) {
  GstMapInfo map;
  EXPECT_TRUE(gst_buffer_map(klv, &map, GST_MAP_READ));
  const auto r = hesp::klv::parse(map.data, map.size);
  EXPECT_EQ(r.status, hesp::klv::ParseStatus::kOk) << r.message;
  EXPECT_EQ(r.packet.size, map.size) << "one packet per buffer";
  std::string value(r.packet.value);
  gst_buffer_unmap(klv, &map);
  return value;
}

GstBuffer* klv_buffer(const hesp::klv::Key& key, const std::string& value, GstClockTime pts) {
  const auto bytes = hesp::klv::encode(key, value);
  GstBuffer* b = gst_buffer_new_memdup(bytes.data(), bytes.size());
  GST_BUFFER_PTS(b) = pts;
  return b;
}

// Runs hespklvencode on the frames; returns its buffers.
std::vector<GstBuffer*> encode(const std::vector<GstBuffer*>& frames) {
  GstHarness* h = gst_harness_new("hespklvencode");
  gst_harness_set_src_caps_str(h, kCaps);
  std::vector<GstBuffer*> out;
  for (GstBuffer* f : frames) {
    EXPECT_EQ(gst_harness_push(h, gst_buffer_ref(f)), GST_FLOW_OK);
    out.push_back(gst_harness_pull(h));
  }
  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  EXPECT_TRUE(caps && gst_caps_is_equal(caps, gst_caps_from_string(kKlvCaps)))
      << (caps ? gst_caps_to_string(caps) : "no caps");
  if (caps) gst_caps_unref(caps);
  gst_harness_teardown(h);
  return out;
}

// hespklvdecode with a harness on each sink pad (the video one also takes the output).
struct Decoder {
  GstHarness* video = gst_harness_new_with_padnames("hespklvdecode", "sink", "src");
  GstHarness* klv = gst_harness_new_with_element(video->element, "klv_sink", nullptr);
  Decoder() {
    gst_harness_set_src_caps_str(video, kCaps);
    gst_harness_set_src_caps_str(klv, kKlvCaps);
  }
  ~Decoder() {
    gst_harness_teardown(klv);
    gst_harness_teardown(video);
  }
};

// The frame's JSON as hespmetaconvert writes it after the decoder.
std::string decoded_text(GstBuffer* b) {
  std::string text = frame_text(b);
  gst_buffer_unref(b);
  return text;
}

TEST(HespKlvEncode, OnePacketPerFrameWithTheFramesJsonAndTimestamps) {
  auto frames = frames_with_faces();
  auto packets = encode(frames);
  ASSERT_EQ(packets.size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    ASSERT_NE(packets[i], nullptr);
    EXPECT_EQ(GST_BUFFER_PTS(packets[i]), GST_BUFFER_PTS(frames[i]));
    EXPECT_EQ(GST_BUFFER_DURATION(packets[i]), kFrame);
    EXPECT_EQ(value_of(packets[i]), frame_text(frames[i])) << "frame " << i;
    // Packets carry no video metadata of their own.
    EXPECT_EQ(gst_buffer_get_video_region_of_interest_meta(packets[i]), nullptr);
  }
  EXPECT_EQ(json::parse(value_of(packets[1]))["objects"], json::array());
  EXPECT_EQ(json::parse(value_of(packets[0]))["objects"].size(), 2u);
  for (GstBuffer* b : frames) gst_buffer_unref(b);
  for (GstBuffer* b : packets) gst_buffer_unref(b);
}

TEST(HespKlvEncode, TagsAndSourceGoIntoEveryPacket) {
  // Properties read at start: set before the harness starts the element.
  GstElement* e = gst_element_factory_make("hespklvencode", nullptr);
  g_object_set(e, "tags", "{\"camera\":\"hall\"}", "source", "rtsp://cam/1", nullptr);
  GstHarness* h = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  gst_harness_set_src_caps_str(h, kCaps);
  ASSERT_EQ(gst_harness_push(h, blank(0)), GST_FLOW_OK);
  GstBuffer* out = gst_harness_pull(h);
  const json frame = json::parse(value_of(out));
  EXPECT_EQ(frame["tags"], json({{"camera", "hall"}}));
  EXPECT_EQ(frame["source"], "rtsp://cam/1");
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

TEST(HespKlvEncode, TagsThatAreNotAnObjectFailToStart) {
  GstElement* e = gst_element_factory_make("hespklvencode", nullptr);
  g_object_set(e, "tags", "[1,2]", nullptr);
  EXPECT_EQ(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);
}

TEST(HespKlvDecode, FacesComeBackAsTheSameJson) {
  auto frames = frames_with_faces();
  auto packets = encode(frames);
  Decoder d;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    // A frame with the same timestamp but no metadata, as a demuxer and video decoder give it.
    ASSERT_EQ(gst_harness_push(d.video, blank(GST_BUFFER_PTS(frames[i]))), GST_FLOW_OK);
    ASSERT_EQ(gst_harness_push(d.klv, packets[i]), GST_FLOW_OK);
    EXPECT_EQ(decoded_text(gst_harness_pull(d.video)), frame_text(frames[i])) << "frame " << i;
  }
  for (GstBuffer* b : frames) gst_buffer_unref(b);
}

TEST(HespKlvDecode, FramesAndPacketsWithoutPartners) {
  auto frames = frames_with_faces();
  const std::string face_json = frame_text(frames[0]);
  Decoder d;
  // A packet whose frame never came (t = -) is dropped; the frame at 0 has no packet (the next
  // packet is for 40 ms): it passes without faces; the frame at 40 ms gets its faces.
  ASSERT_EQ(gst_harness_push(d.video, blank(0)), GST_FLOW_OK);
  ASSERT_EQ(gst_harness_push(d.klv, klv_buffer(hesp::klv::kFrameJsonKey, face_json, kFrame)),
            GST_FLOW_OK);
  GstBuffer* first = gst_harness_pull(d.video);
  EXPECT_EQ(gst_buffer_get_video_region_of_interest_meta(first), nullptr);
  EXPECT_EQ(GST_BUFFER_PTS(first), 0u);
  gst_buffer_unref(first);
  ASSERT_EQ(gst_harness_push(d.video, blank(kFrame)), GST_FLOW_OK);
  GstBuffer* second = gst_harness_pull(d.video);
  EXPECT_EQ(hesp::gst::face_rois(second).size(), 2u);
  gst_buffer_unref(second);

  // A packet of another producer at the frame's time is skipped; ours beside it is used.
  const hesp::klv::Key other = {0x06, 0x0E, 0x2B, 0x34, 0x02, 0x0B, 0x01, 0x01,
                                0x0E, 0x01, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00};
  auto bytes = hesp::klv::encode(other, "\x02\x08");
  const auto ours = hesp::klv::encode(hesp::klv::kFrameJsonKey, face_json);
  bytes.insert(bytes.end(), ours.begin(), ours.end());
  GstBuffer* mixed = gst_buffer_new_memdup(bytes.data(), bytes.size());
  GST_BUFFER_PTS(mixed) = 3 * kFrame;
  // An old packet (20 ms, between frames) is dropped before the frame at 120 ms.
  ASSERT_EQ(
      gst_harness_push(d.klv, klv_buffer(hesp::klv::kFrameJsonKey, face_json, 20 * GST_MSECOND)),
      GST_FLOW_OK);
  ASSERT_EQ(gst_harness_push(d.video, blank(3 * kFrame)), GST_FLOW_OK);
  ASSERT_EQ(gst_harness_push(d.klv, mixed), GST_FLOW_OK);
  EXPECT_EQ(decoded_text(gst_harness_pull(d.video)), [&] {
    GstBuffer* b = gst_buffer_copy(frames[0]);
    GST_BUFFER_PTS(b) = 3 * kFrame;
    std::string t = frame_text(b);
    gst_buffer_unref(b);
    return t;
  }());
  for (GstBuffer* b : frames) gst_buffer_unref(b);
}

TEST(HespKlvDecode, PacketsAFewMillisecondsOffStillPair) {
  // tsdemux re-timing a live stream moves packets and frames apart by a few ms: a packet pairs
  // with the frame it is nearest to, within half a frame.
  auto frames = frames_with_faces();
  const std::string face_json = frame_text(frames[0]);
  Decoder d;
  ASSERT_EQ(gst_harness_push(d.video, blank(kFrame)), GST_FLOW_OK);
  ASSERT_EQ(gst_harness_push(
                d.klv, klv_buffer(hesp::klv::kFrameJsonKey, face_json, kFrame - 3 * GST_MSECOND)),
            GST_FLOW_OK);
  GstBuffer* early = gst_harness_pull(d.video);
  EXPECT_EQ(hesp::gst::face_rois(early).size(), 2u);
  gst_buffer_unref(early);
  ASSERT_EQ(gst_harness_push(d.video, blank(2 * kFrame)), GST_FLOW_OK);
  ASSERT_EQ(gst_harness_push(d.klv, klv_buffer(hesp::klv::kFrameJsonKey, face_json,
                                               2 * kFrame + 19 * GST_MSECOND)),
            GST_FLOW_OK);
  GstBuffer* late = gst_harness_pull(d.video);
  EXPECT_EQ(hesp::gst::face_rois(late).size(), 2u);
  gst_buffer_unref(late);
  // 21 ms after a 40 ms frame is nearer the next frame: not this one's.
  ASSERT_EQ(gst_harness_push(d.video, blank(3 * kFrame)), GST_FLOW_OK);
  ASSERT_EQ(gst_harness_push(d.klv, klv_buffer(hesp::klv::kFrameJsonKey, face_json,
                                               3 * kFrame + 21 * GST_MSECOND)),
            GST_FLOW_OK);
  GstBuffer* none = gst_harness_pull(d.video);
  EXPECT_EQ(gst_buffer_get_video_region_of_interest_meta(none), nullptr);
  gst_buffer_unref(none);
  for (GstBuffer* b : frames) gst_buffer_unref(b);
}

TEST(HespKlvDecode, EndOfTheKlvStreamLetsFramesPass) {
  Decoder d;
  ASSERT_TRUE(gst_harness_push_event(d.klv, gst_event_new_eos()));
  ASSERT_EQ(gst_harness_push(d.video, blank(0)), GST_FLOW_OK);
  GstBuffer* out = gst_harness_pull(d.video);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(gst_buffer_get_video_region_of_interest_meta(out), nullptr);
  gst_buffer_unref(out);
}

// The first error message on the element's bus, or "" when none came within a second.
std::string error_on_bus(GstElement* element, GQuark* domain, gint* code) {
  std::string text;
  GstBus* bus = gst_element_get_bus(element);
  if (!bus) return text;
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, GST_SECOND, GST_MESSAGE_ERROR);
  if (msg) {
    GError* err = nullptr;
    gst_message_parse_error(msg, &err, nullptr);
    text = err->message;
    *domain = err->domain;
    *code = err->code;
    g_error_free(err);
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  return text;
}

TEST(HespKlvDecode, CorruptPacketIsAStreamDecodeError) {
  struct Case {
    std::string bytes;
    const char* expected;
  };
  const std::string key(hesp::klv::kFrameJsonKey.begin(), hesp::klv::kFrameJsonKey.end());
  const std::vector<Case> cases = {
      {key + std::string("\x82\x01", 2), "truncated"},
      {key + "\x05" + "{\"ob", "truncated"},
      {key + "\x03" + "abc", "does not hold a frame's JSON"},
      {key + "\x0d" + "{\"objects\":3}", "objects"},
  };
  for (const auto& c : cases) {
    Decoder d;
    GstBus* bus = gst_bus_new();
    gst_element_set_bus(d.video->element, bus);
    ASSERT_EQ(gst_harness_push(d.video, blank(0)), GST_FLOW_OK);
    GstBuffer* b = gst_buffer_new_memdup(c.bytes.data(), c.bytes.size());
    GST_BUFFER_PTS(b) = 0;
    gst_harness_push(d.klv, b);
    GQuark domain = 0;
    gint code = 0;
    const std::string message = error_on_bus(d.video->element, &domain, &code);
    EXPECT_NE(message.find(c.expected), std::string::npos) << "got: '" << message << "'";
    EXPECT_EQ(domain, GST_STREAM_ERROR);
    EXPECT_EQ(code, GST_STREAM_ERROR_DECODE);
    EXPECT_EQ(gst_harness_buffers_in_queue(d.video), 0u);
    gst_object_unref(bus);
  }
}

}  // namespace

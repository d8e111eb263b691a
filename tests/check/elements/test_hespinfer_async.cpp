// SPDX-License-Identifier: LGPL-2.1-or-later
// hespinfer's schedules: async gives sync's results when nothing is dropped, frames never wait for
// the model, drops are counted, end of stream delivers what is pending, flushes and state changes
// are clean, auto follows liveness, and the latency query tells the truth in both modes.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hesp/pan_zoom.h"
#include "infer_harness.h"

namespace {

using namespace hesp::test;  // the hespinfer harnesses and counters

std::string mode(GstElement* infer) {
  GstStructure* s = nullptr;
  g_object_get(infer, "stats", &s, nullptr);
  std::string m = s ? gst_structure_get_string(s, "mode") : "";
  if (s) gst_structure_free(s);
  return m;
}

// The camera move over sample3 through the full chain; with `wait`, each frame is pushed only
// after the worker is idle, so that nothing can be dropped.
Results run_chain(const std::string& infer_props, bool wait, guint64* queued = nullptr) {
  hesp::PanZoomPath path{0.50f, 0.30f, 0.95f, 0.53f, 0.32f, 0.80f};
  hesp::PanZoomSequence seq(hesp::test::demo_photo(3), 640, 360, 32, path);
  GstHarness* h = chain_harness(infer_props);
  GstElement* infer = infer_of(h);
  std::vector<std::uint8_t> rgb(640 * 360 * 3);
  for (int i = 0; i < 32; ++i) {
    seq.render(i, rgb.data());
    GstBuffer* b = gst_buffer_new_memdup(rgb.data(), rgb.size());
    GST_BUFFER_PTS(b) = i * kFrame;
    EXPECT_EQ(gst_harness_push(h, b), GST_FLOW_OK);
    if (wait) wait_idle(infer);
  }
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  Results out;
  collect_results(h, &out);
  if (queued) *queued = stat(infer, "clips-queued");
  EXPECT_EQ(stat(infer, "clips-dropped"), 0u);
  gst_object_unref(infer);
  gst_harness_teardown(h);
  return out;
}

class HespInferAsync : public ::testing::Test {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(default_pack());
    HESP_REQUIRE_FILE(hesp::test::demo_photo(3));
  }
};

TEST_F(HespInferAsync, GivesTheSyncResultsWhenNothingIsDropped) {
  const Results sync = run_chain("schedule=sync", false);
  guint64 queued = 0;
  const Results async = run_chain("schedule=async", true, &queued);
  ASSERT_GT(sync.size(), 10u);
  // A result is stamped on the frames after the one that completed its clip, so only results of
  // clips completed on the last frame may be missing.
  expect_same(async, sync, 3);
  EXPECT_GT(queued, 10u);
}

TEST_F(HespInferAsync, FramesNeverWaitAndDropsAreCounted) {
  GstHarness* h = infer_harness("schedule=async max-queued-clips=1");
  GstElement* infer = infer_of(h);
  GBytes* frames = random_frames();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(gst_harness_push(h, clip_buffer(i, 4, frames)), GST_FLOW_OK);
    // The frame is out before the push returns, whatever the model is doing.
    EXPECT_EQ(gst_harness_buffers_received(h), static_cast<guint>(i + 1));
  }
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  EXPECT_EQ(stat(infer, "clips-queued"), 400u);
  EXPECT_GT(stat(infer, "clips-dropped"), 0u);
  EXPECT_GT(stat(infer, "clips-run"), 0u);
  EXPECT_EQ(stat(infer, "clips-dropped-superseded") + stat(infer, "clips-dropped-queue-full") +
                stat(infer, "clips-dropped-flush"),
            stat(infer, "clips-dropped"));
  EXPECT_EQ(stat(infer, "clips-run") + stat(infer, "clips-dropped"), 400u);
  EXPECT_EQ(mode(infer), "async");
  g_bytes_unref(frames);
  gst_object_unref(infer);
  gst_harness_teardown(h);
}

TEST_F(HespInferAsync, EndOfStreamRunsWhatIsWaitingAndReportsIt) {
  GstHarness* h = infer_harness("schedule=async max-queued-clips=64 post-messages=true");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  GstElement* infer = infer_of(h);
  GBytes* frames = random_frames();
  // Clips of 15 different tracks (a newer clip of a track would supersede a waiting one).
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(gst_harness_push(h, clip_buffer(i, 3, frames, 1 + 3 * i)), GST_FLOW_OK);
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  // Nothing was dropped, and every clip ran before EOS went on.
  EXPECT_EQ(stat(infer, "clips-queued"), 15u);
  EXPECT_EQ(stat(infer, "clips-run"), 15u);
  EXPECT_EQ(stat(infer, "clips-dropped"), 0u);
  EXPECT_EQ(stat(infer, "frames-encoded"), 15u * 8);
  int changes = 0;
  while (GstMessage* m = gst_bus_pop(bus)) {
    if (const GstStructure* s = gst_message_get_structure(m))
      changes += gst_structure_has_name(s, "hesp-expression-changed");
    gst_message_unref(m);
  }
  EXPECT_EQ(changes, 15);  // each track's first result, though no frame was left to carry it
  g_bytes_unref(frames);
  gst_object_unref(infer);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

TEST_F(HespInferAsync, FlushesAndStateChangesAreClean) {
  GBytes* frames = random_frames();
  for (int round = 0; round < 3; ++round) {
    GstHarness* h = infer_harness("schedule=async max-queued-clips=4");
    GstElement* infer = infer_of(h);
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(gst_harness_push(h, clip_buffer(i, 4, frames)), GST_FLOW_OK);
      if (i == 10) {
        EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_flush_start()));
        EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
        GstSegment segment;
        gst_segment_init(&segment, GST_FORMAT_TIME);
        EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
      }
    }
    EXPECT_EQ(gst_harness_buffers_received(h), 20u);
    EXPECT_EQ(stat(infer, "clips-queued"), 80u);
    if (round == 1) {
      // Back to READY with clips waiting: the worker stops, the next stream decides again.
      EXPECT_EQ(gst_element_set_state(h->element, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
      EXPECT_EQ(mode(infer), "undecided");
    }
    // Round 2 tears down with clips waiting and the worker busy.
    gst_object_unref(infer);
    gst_harness_teardown(h);
  }
  g_bytes_unref(frames);
}

// Mode and counters after running a pipeline to EOS.
std::string mode_of_pipeline(const std::string& source) {
  GError* error = nullptr;
  GstElement* p = gst_parse_launch(
      (source + " ! video/x-raw,width=64,height=48,framerate=25/1 ! hespinfer name=infer model=\"" +
       default_pack() + "\" ! fakesink sync=false")
          .c_str(),
      &error);
  EXPECT_EQ(error, nullptr);
  if (!p) return "";
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(p);
  GstMessage* m = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  EXPECT_NE(m, nullptr);
  EXPECT_EQ(m ? GST_MESSAGE_TYPE(m) : GST_MESSAGE_UNKNOWN, GST_MESSAGE_EOS);
  if (m) gst_message_unref(m);
  GstElement* infer = gst_bin_get_by_name(GST_BIN(p), "infer");
  const std::string result = mode(infer);
  gst_object_unref(infer);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return result;
}

TEST_F(HespInferAsync, AutoIsAsyncForLiveSourcesOnly) {
  EXPECT_EQ(mode_of_pipeline("videotestsrc num-buffers=3 is-live=true"), "async");
  EXPECT_EQ(mode_of_pipeline("videotestsrc num-buffers=3"), "sync");
}

TEST_F(HespInferAsync, LatencyQueryIsTruthfulInBothModes) {
  for (const char* props : {"schedule=async batch-size=4 max-batch-frames=5",
                            "schedule=sync batch-size=4 max-batch-frames=5"}) {
    GstHarness* h = infer_harness(props);
    gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
    GBytes* frames = random_frames();
    for (int i = 0; i < 6; ++i) gst_harness_push(h, clip_buffer(i, 1, frames));
    const GstClockTime latency = gst_harness_query_latency(h);
    if (std::string(props).find("async") != std::string::npos) {
      EXPECT_EQ(latency, 10 * GST_MSECOND) << "async adds nothing: frames pass at once";
    } else {
      // Four frames a batch may hold back, and the model's longest run so far.
      EXPECT_GT(latency, 10 * GST_MSECOND + 4 * kFrame);
    }
    g_bytes_unref(frames);
    gst_harness_teardown(h);
  }
}

}  // namespace

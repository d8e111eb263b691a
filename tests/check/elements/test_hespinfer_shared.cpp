// SPDX-License-Identifier: LGPL-2.1-or-later
// hespinfer model-instance-id: elements naming the same id load the model once and share it; an
// element asking for the id with other load settings fails; each stream gets the results it
// would get with a model of its own, in sync and async mode (the frame cache keeps streams
// apart); one element's stop or flush leaves the other's clips alone.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "hesp/pan_zoom.h"
#include "infer_harness.h"

namespace {

using namespace hesp::test;  // the hespinfer harnesses and counters

guint users(GstElement* infer) {
  GstStructure* s = stats_of(infer);
  guint v = 0;
  EXPECT_TRUE(s && gst_structure_get_uint(s, "model-instance-users", &v));
  if (s) gst_structure_free(s);
  return v;
}

// One stream per photo (a camera move over it, the same PTS and track ids in every stream),
// through the full chain, the streams' frames pushed in turn from this thread. With
// `wait_async`, every worker is idle before the next frames go in, so nothing is dropped.
std::vector<Results> run_streams(const std::vector<int>& photos, const std::string& infer_props,
                                 bool wait_async) {
  hesp::PanZoomPath path{0.50f, 0.30f, 0.95f, 0.53f, 0.32f, 0.80f};
  std::vector<std::unique_ptr<hesp::PanZoomSequence>> seqs;
  std::vector<GstHarness*> hs;
  std::vector<GstElement*> infers;
  for (int photo : photos) {
    seqs.push_back(
        std::make_unique<hesp::PanZoomSequence>(hesp::test::demo_photo(photo), 640, 360, 32, path));
    GstHarness* h = chain_harness(infer_props);
    hs.push_back(h);
    infers.push_back(infer_of(h));
  }
  std::vector<std::uint8_t> rgb(640 * 360 * 3);
  for (int i = 0; i < 32; ++i) {
    for (std::size_t k = 0; k < hs.size(); ++k) {
      seqs[k]->render(i, rgb.data());
      GstBuffer* b = gst_buffer_new_memdup(rgb.data(), rgb.size());
      GST_BUFFER_PTS(b) = i * kFrame;
      EXPECT_EQ(gst_harness_push(hs[k], b), GST_FLOW_OK);
    }
    if (wait_async)
      for (GstElement* infer : infers) wait_idle(infer);
  }
  std::vector<Results> out(hs.size());
  for (std::size_t k = 0; k < hs.size(); ++k) {
    EXPECT_TRUE(gst_harness_push_event(hs[k], gst_event_new_eos()));
    collect_results(hs[k], &out[k]);
    EXPECT_EQ(stat(infers[k], "clips-dropped"), 0u);
  }
  for (std::size_t k = 0; k < hs.size(); ++k) {
    gst_object_unref(infers[k]);
    gst_harness_teardown(hs[k]);
  }
  return out;
}

// Five buffers of three clips each, every clip of a track of its own (none supersedes another).
void push_clips(GstHarness* h, GBytes* frames, int first_index = 0) {
  for (int i = first_index; i < first_index + 5; ++i)
    ASSERT_EQ(gst_harness_push(h, clip_buffer(i, 3, frames, 1 + 3 * i)), GST_FLOW_OK);
}

class HespInferShared : public ::testing::Test {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(default_pack());
    HESP_REQUIRE_FILE(hesp::test::demo_photo(2));
    HESP_REQUIRE_FILE(hesp::test::demo_photo(3));
  }
};

TEST_F(HespInferShared, ElementsWithOneIdLoadTheModelOnce) {
  GstHarness* a = infer_harness("model-instance-id=load-once schedule=sync");
  GstHarness* b = infer_harness("model-instance-id=load-once schedule=async");
  GstElement* ia = infer_of(a);
  GstElement* ib = infer_of(b);
  EXPECT_EQ(users(ia), 2u);
  EXPECT_EQ(users(ib), 2u);
  EXPECT_EQ(stat(ia, "model-instance-loads"), 1u);
  EXPECT_EQ(stat(ib, "model-instance-loads"), 1u);
  // One model: frames one element encodes count on the other's statistics too.
  GBytes* frames = random_frames(5);
  push_clips(a, frames);
  EXPECT_EQ(stat(ia, "frames-encoded"), 15u * 8);
  EXPECT_EQ(stat(ib, "frames-encoded"), 15u * 8);
  gst_object_unref(ia);
  gst_harness_teardown(a);
  EXPECT_EQ(users(ib), 1u);
  gst_object_unref(ib);
  gst_harness_teardown(b);
  // The last one out released it: the next element loads it again.
  GstHarness* c = infer_harness("model-instance-id=load-once");
  GstElement* ic = infer_of(c);
  EXPECT_EQ(users(ic), 1u);
  EXPECT_EQ(stat(ic, "model-instance-loads"), 2u);
  EXPECT_EQ(stat(ic, "frames-encoded"), 0u);
  g_bytes_unref(frames);
  gst_object_unref(ic);
  gst_harness_teardown(c);
}

TEST_F(HespInferShared, OtherLoadSettingsUnderTheSameIdAreAnError) {
  GstHarness* a = infer_harness("model-instance-id=mismatch");
  GstElement* b = gst_element_factory_make("hespinfer", nullptr);
  ASSERT_NE(b, nullptr);
  g_object_set(b, "model", default_pack().c_str(), "model-instance-id", "mismatch", "frame-cache",
               0u, nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(b, bus);
  EXPECT_EQ(gst_element_set_state(b, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
  GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  ASSERT_NE(m, nullptr);
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(m, &err, &debug);
  EXPECT_TRUE(g_error_matches(err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS)) << err->message;
  const std::string text = err->message;
  EXPECT_NE(text.find("model-instance-id \"mismatch\""), std::string::npos) << text;
  EXPECT_NE(text.find("frame-cache=\"4096\""), std::string::npos) << text;
  EXPECT_NE(text.find("frame-cache=\"0\""), std::string::npos) << text;
  g_error_free(err);
  g_free(debug);
  gst_message_unref(m);
  gst_element_set_state(b, GST_STATE_NULL);
  gst_element_set_bus(b, nullptr);
  gst_object_unref(bus);
  gst_object_unref(b);
  // The loaded instance is untouched.
  GstElement* ia = infer_of(a);
  EXPECT_EQ(users(ia), 1u);
  EXPECT_EQ(stat(ia, "model-instance-loads"), 1u);
  gst_object_unref(ia);
  gst_harness_teardown(a);
}

// Two streams of different faces with the same track ids and PTS: a shared frame cache that mixed
// them up would give one stream the other's frames.
TEST_F(HespInferShared, SyncStreamsGetTheResultsOfUnsharedElements) {
  const Results alone2 = run_streams({2}, "schedule=sync", false)[0];
  const Results alone3 = run_streams({3}, "schedule=sync", false)[0];
  const auto shared = run_streams({2, 3}, "schedule=sync model-instance-id=sync-pair", false);
  expect_same(shared[0], alone2, 0);
  expect_same(shared[1], alone3, 0);
  EXPECT_EQ(shared[0].size(), alone2.size());
  EXPECT_EQ(shared[1].size(), alone3.size());
}

TEST_F(HespInferShared, AsyncStreamsGetTheResultsOfUnsharedElements) {
  const Results alone2 = run_streams({2}, "schedule=sync", false)[0];
  const Results alone3 = run_streams({3}, "schedule=sync", false)[0];
  const auto shared = run_streams({2, 3, 2}, "schedule=async model-instance-id=async-three", true);
  // A result is stamped on the frames after its clip's, so results of clips completed on the
  // last frame may be missing.
  expect_same(shared[0], alone2, 3);
  expect_same(shared[1], alone3, 3);
  expect_same(shared[2], alone2, 3);
}

// The shared worker batches both streams' clips; each element gets its own back, counted on it,
// and the frame cache keeps the streams' identical keys apart.
TEST_F(HespInferShared, AsyncStreamsShareOneWorkerAndCountTheirOwnClips) {
  GstHarness* a = infer_harness("model-instance-id=async-count schedule=async max-queued-clips=64");
  GstHarness* b = infer_harness("model-instance-id=async-count schedule=async max-queued-clips=64");
  GstElement* ia = infer_of(a);
  GstElement* ib = infer_of(b);
  GBytes* fa = random_frames(5);
  GBytes* fb = random_frames(6);
  push_clips(a, fa);
  push_clips(b, fb);
  EXPECT_TRUE(gst_harness_push_event(a, gst_event_new_eos()));
  EXPECT_TRUE(gst_harness_push_event(b, gst_event_new_eos()));
  for (GstElement* infer : {ia, ib}) {
    EXPECT_EQ(stat(infer, "clips-queued"), 15u);
    EXPECT_EQ(stat(infer, "clips-run"), 15u);
    EXPECT_EQ(stat(infer, "clips-dropped"), 0u);
    // Same track ids and PTS in both streams, but no frame of one is reused for the other.
    EXPECT_EQ(stat(infer, "frames-encoded"), 2u * 15 * 8);
    EXPECT_EQ(stat(infer, "frames-cached"), 0u);
  }
  g_bytes_unref(fa);
  g_bytes_unref(fb);
  for (GstElement* infer : {ia, ib}) gst_object_unref(infer);
  gst_harness_teardown(a);
  gst_harness_teardown(b);
}

TEST_F(HespInferShared, OneElementStoppingOrFlushingLeavesTheOtherAlone) {
  GstHarness* a = infer_harness("model-instance-id=stop-one schedule=async max-queued-clips=64");
  GstHarness* b = infer_harness("model-instance-id=stop-one schedule=async max-queued-clips=64");
  GstHarness* c = infer_harness("model-instance-id=stop-one schedule=async max-queued-clips=64");
  GstElement* ib = infer_of(b);
  GstElement* ic = infer_of(c);
  GBytes* frames = random_frames(7);
  push_clips(a, frames);
  push_clips(b, frames);
  push_clips(c, frames);
  // c flushes (a seek), a stops with clips waiting; b's clips all run.
  EXPECT_TRUE(gst_harness_push_event(c, gst_event_new_flush_start()));
  EXPECT_TRUE(gst_harness_push_event(c, gst_event_new_flush_stop(FALSE)));
  gst_harness_teardown(a);
  EXPECT_EQ(users(ib), 2u);
  push_clips(b, frames, 5);
  EXPECT_TRUE(gst_harness_push_event(b, gst_event_new_eos()));
  EXPECT_EQ(stat(ib, "clips-queued"), 30u);
  EXPECT_EQ(stat(ib, "clips-run"), 30u);
  EXPECT_EQ(stat(ib, "clips-dropped"), 0u);
  // c: what the flush dropped is counted on c alone, and c goes on after it.
  EXPECT_EQ(stat(ic, "clips-run") + stat(ic, "clips-dropped-flush"), 15u);
  push_clips(c, frames, 5);
  EXPECT_TRUE(gst_harness_push_event(c, gst_event_new_eos()));
  EXPECT_EQ(stat(ic, "clips-queued"), 30u);
  EXPECT_EQ(stat(ic, "clips-run") + stat(ic, "clips-dropped-flush"), 30u);
  EXPECT_GE(stat(ic, "clips-run"), 15u);
  g_bytes_unref(frames);
  gst_object_unref(ib);
  gst_object_unref(ic);
  gst_harness_teardown(b);
  gst_harness_teardown(c);
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
// What the hespinfer tests share: the default pack, harnesses around hespinfer alone (fed clips
// made up here) and around the whole recognizer (fed a camera move over a demo photo), the
// element's `stats` counters, and the results read back from the frames.
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "gsthespclipmeta.h"
#include "pipeline_runner.h"
#include "test_data.h"

namespace hesp::test {

constexpr GstClockTime kFrame = GST_SECOND / 25;

inline std::string default_pack() { return cache_path("models/faceapi-expression.safetensors"); }

// The element named "infer" in a harness, or the harness's element itself when that is it
// (a reference either way).
inline GstElement* infer_of(GstHarness* h) {
  GstElement* e = gst_bin_get_by_name(GST_BIN(h->element), "infer");
  if (!e && g_str_has_prefix(GST_OBJECT_NAME(h->element), "infer"))
    e = GST_ELEMENT(gst_object_ref(h->element));
  EXPECT_NE(e, nullptr);
  return e;
}

inline GstStructure* stats_of(GstElement* infer) {
  GstStructure* s = nullptr;
  g_object_get(infer, "stats", &s, nullptr);
  EXPECT_NE(s, nullptr);
  return s;
}

inline guint64 stat(GstElement* infer, const char* field) {
  GstStructure* s = stats_of(infer);
  guint64 v = 0;
  EXPECT_TRUE(s && gst_structure_get_uint64(s, field, &v)) << field;
  if (s) gst_structure_free(s);
  return v;
}

// Waits until the worker has run or dropped every clip it was given.
inline void wait_idle(GstElement* infer) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (stat(infer, "clips-run") + stat(infer, "clips-dropped") < stat(infer, "clips-queued")) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the worker never finished";
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Every distinct result seen on a stream's output frames: (track, clip end) -> (label, scores).
using Results = std::map<std::pair<int, guint64>, std::tuple<std::string, double, double>>;

// The results on the frames the harness has given out so far (they are taken).
inline void collect_results(GstHarness* h, Results* out) {
  while (GstBuffer* b = gst_harness_try_pull(h)) {
    for (const RoiRecord& r : rois_of(b))
      if (r.has_expression)
        (*out)[{r.id, r.clip_end}] = std::make_tuple(r.label, r.confidence, r.open_set_score);
    gst_buffer_unref(b);
  }
}

// `got` holds only results that `want` has, equal to them; up to `may_miss` of `want` may be
// missing (results of clips completed on the last frame have no later frame to go on).
inline void expect_same(const Results& got, const Results& want, std::size_t may_miss) {
  ASSERT_GT(want.size(), 5u);
  EXPECT_GE(got.size() + may_miss, want.size());
  for (const auto& [key, value] : got) {
    const auto it = want.find(key);
    ASSERT_NE(it, want.end()) << "track " << key.first << " clip end " << key.second;
    EXPECT_EQ(std::get<0>(value), std::get<0>(it->second));
    EXPECT_NEAR(std::get<1>(value), std::get<1>(it->second), 1e-9);
    EXPECT_NEAR(std::get<2>(value), std::get<2>(it->second), 1e-9);
  }
}

// The whole recognizer on 640x360 RGB at 25 fps, hespinfer (named "infer") with `infer_props`.
inline GstHarness* chain_harness(const std::string& infer_props) {
  GstHarness* h = gst_harness_new_parse(
      ("hespfacecrop min-face-size=60 ! hespclipbatch crop-size=112 margin=0.2 clip-length=8 "
       "first-clip-frames=0 clip-stride=4 ! hespinfer name=infer model=\"" +
       default_pack() + "\" " + infer_props)
          .c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=640,height=360,framerate=25/1");
  return h;
}

// A 64x48 frame carrying `tracks` finished clips of 8 frames of 112 px, tracks first_track...,
// as hespclipbatch would attach them.
inline GstBuffer* clip_buffer(int index, int tracks, GBytes* frames, int first_track = 1) {
  GstBuffer* b = gst_buffer_new_allocate(nullptr, 64 * 48 * 3, nullptr);
  GST_BUFFER_PTS(b) = index * kFrame;
  GST_BUFFER_DURATION(b) = kFrame;
  GstClockTime pts[8];
  for (int f = 0; f < 8; ++f) pts[f] = (index + f) * kFrame;
  for (int t = first_track; t < first_track + tracks; ++t)
    gst_buffer_add_hesp_clip_meta(b, t, -1, 8, 8, 112, frames, pts, static_cast<guint64>(index));
  return b;
}

// The pixels of one clip (8 frames of 112x112 RGB), noise from `seed`.
inline GBytes* random_frames(unsigned seed = 5) {
  std::vector<std::uint8_t> bytes(8 * 112 * 112 * 3);
  std::mt19937 rng(seed);
  for (auto& v : bytes) v = static_cast<std::uint8_t>(rng());
  return g_bytes_new(bytes.data(), bytes.size());
}

// hespinfer (named "infer") alone on 64x48 frames, with the default pack and `props`.
inline GstHarness* infer_harness(const std::string& props) {
  GstHarness* h = gst_harness_new_parse(
      ("hespinfer name=infer model=\"" + default_pack() + "\" " + props).c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=25/1");
  return h;
}

}  // namespace hesp::test

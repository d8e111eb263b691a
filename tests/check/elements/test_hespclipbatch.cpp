// SPDX-License-Identifier: LGPL-2.1-or-later
// hespclipbatch: clip metas (length, order, track, crop size), stride arithmetic, partial clips at
// track end and EOS, resets, settings errors, state cycles of the aligned kinds, and the real face
// video end to end.
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <set>

#include "common/face_roi.h"
#include "gsthespclipmeta.h"
#include "pipeline_runner.h"
#include "test_data.h"

namespace {

constexpr int kW = 160, kH = 120;

// A frame whose pixels encode its index (so crops can be traced back to frames), with one face ROI
// per given track id.
GstBuffer* frame_with_faces(int index, const std::vector<guint>& tracks) {
  std::vector<std::uint8_t> rgb(kW * kH * 3, static_cast<std::uint8_t>(index * 3));
  GstBuffer* buffer = gst_buffer_new_memdup(rgb.data(), rgb.size());
  GST_BUFFER_PTS(buffer) = index * GST_SECOND / 25;
  int x = 10;
  for (guint t : tracks) {
    hesp::gst::add_face_roi(buffer, hesp::Box{float(x), 30.f, 40.f, 40.f}, 0.9, t, kW, kH);
    x += 50;
  }
  return buffer;
}

// Most tests check the full clips' arithmetic, so the early first clip is off unless the launch
// line sets it.
GstHarness* make_harness(const char* launch) {
  std::string line = launch;
  if (line.find("first-clip-frames") == std::string::npos) line += " first-clip-frames=0";
  GstHarness* h = gst_harness_new_parse(line.c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=160,height=120,framerate=25/1");
  return h;
}

std::vector<hesp::test::ClipRecord> push(GstHarness* h, int index,
                                         const std::vector<guint>& tracks) {
  GstBuffer* out = gst_harness_push_and_pull(h, frame_with_faces(index, tracks));
  auto clips = hesp::test::clips_of(out);
  gst_buffer_unref(out);
  return clips;
}

TEST(HespClipBatch, NewTrackGetsAnEarlyPaddedClipOnItsFirstFrame) {
  GstHarness* h = make_harness(
      "hespclipbatch clip-length=4 clip-stride=4 crop-size=16 "
      "first-clip-frames=1");
  std::vector<std::pair<int, hesp::test::ClipRecord>> got;
  for (int i = 0; i < 8; ++i)
    for (auto& c : push(h, i, {5})) got.emplace_back(i, c);
  gst_harness_teardown(h);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, 0) << "the first frame of the track carries a clip";
  EXPECT_EQ(got[0].second.n_real_frames, 1u);
  EXPECT_EQ(got[0].second.n_frames, 4u);
  for (guint i = 0; i < 4; ++i) EXPECT_EQ(got[0].second.pts[i], 0u) << "padding repeats frame 0";
  EXPECT_EQ(got[1].first, 3);
  EXPECT_EQ(got[1].second.n_real_frames, 4u);
  EXPECT_EQ(got[2].first, 7);
  // Where each clip starts among the track's sampled frames: the early clip and the first full
  // clip both at frame 0.
  EXPECT_EQ(got[0].second.first_index, 0u);
  EXPECT_EQ(got[1].second.first_index, 0u);
  EXPECT_EQ(got[2].second.first_index, 4u);
}

TEST(HespClipBatch, ClipsHaveTFramesInPtsOrderWithTrackAndCropSize) {
  GstHarness* h = make_harness("hespclipbatch clip-length=4 clip-stride=4 crop-size=32");
  std::vector<std::pair<int, hesp::test::ClipRecord>> got;
  for (int i = 0; i < 12; ++i)
    for (auto& c : push(h, i, {5})) got.emplace_back(i, c);
  gst_harness_teardown(h);
  ASSERT_EQ(got.size(), 3u);
  for (size_t k = 0; k < got.size(); ++k) {
    const auto& [frame, c] = got[k];
    EXPECT_EQ(frame, static_cast<int>(4 * k + 3)) << "a clip rides on the buffer completing it";
    EXPECT_EQ(c.track_id, 5u);
    EXPECT_EQ(c.roi_id, 5) << "the clip points at the face ROI (id = track id)";
    EXPECT_EQ(c.n_frames, 4u);
    EXPECT_EQ(c.n_real_frames, 4u);
    EXPECT_EQ(c.crop_size, 32u);
    EXPECT_EQ(c.bytes, 4u * 32 * 32 * 3);
    for (guint i = 0; i < c.n_frames; ++i) EXPECT_EQ(c.pts[i], (4 * k + i) * GST_SECOND / 25);
  }
}

TEST(HespClipBatch, SubsampleAndStrideArithmetic) {
  // Every 2nd frame sampled, clips of 3 starting every 2 sampled frames:
  // sampled 0,2,4,6,8,10,12 -> clips (0,2,4) (4,6,8) (8,10,12).
  GstHarness* h = make_harness(
      "hespclipbatch clip-length=3 frame-subsample=2 clip-stride=2 crop-size=16 "
      "min-frames=1");
  std::vector<hesp::test::ClipRecord> got;
  for (int i = 0; i < 13; ++i)
    for (auto& c : push(h, i, {1})) got.push_back(c);
  gst_harness_teardown(h);
  ASSERT_EQ(got.size(), 3u);
  const GstClockTime f = GST_SECOND / 25;
  EXPECT_EQ(got[0].pts, (std::vector<GstClockTime>{0, 2 * f, 4 * f}));
  EXPECT_EQ(got[1].pts, (std::vector<GstClockTime>{4 * f, 6 * f, 8 * f}));
  EXPECT_EQ(got[2].pts, (std::vector<GstClockTime>{8 * f, 10 * f, 12 * f}));
  // first_index counts sampled frames: frames 0, 4 and 8 are the track's sampled frames 0, 2, 4.
  EXPECT_EQ(got[0].first_index, 0u);
  EXPECT_EQ(got[1].first_index, 2u);
  EXPECT_EQ(got[2].first_index, 4u);
}

TEST(HespClipBatch, TwoTracksGetTheirOwnClips) {
  GstHarness* h = make_harness("hespclipbatch clip-length=2 clip-stride=2 crop-size=16");
  std::multiset<guint> tracks;
  for (int i = 0; i < 4; ++i)
    for (auto& c : push(h, i, {3, 9})) tracks.insert(c.track_id);
  gst_harness_teardown(h);
  EXPECT_EQ(tracks.count(3), 2u);
  EXPECT_EQ(tracks.count(9), 2u);
}

TEST(HespClipBatch, EndedTrackGetsPaddedPartialClip) {
  GstHarness* h =
      make_harness("hespclipbatch clip-length=8 crop-size=16 min-frames=3 track-timeout=2");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(push(h, i, {4}).empty());
  // The face is gone: after track-timeout frames its partial clip is finished and padded.
  std::vector<hesp::test::ClipRecord> got;
  int on_frame = -1;
  for (int i = 5; i < 10 && got.empty(); ++i) {
    got = push(h, i, {});
    on_frame = i;
  }
  gst_harness_teardown(h);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(on_frame, 7);
  EXPECT_EQ(got[0].track_id, 4u);
  EXPECT_EQ(got[0].roi_id, -1) << "the face has no ROI on the buffer any more";
  EXPECT_EQ(got[0].n_frames, 8u);
  EXPECT_EQ(got[0].n_real_frames, 5u);
  EXPECT_EQ(got[0].pts[7], got[0].pts[4]);
  EXPECT_EQ(got[0].first_index, 0u);
}

TEST(HespClipBatch, PartialClipsCarryTheirFirstIndex) {
  // Clips of 4 every 2: 0..3, 2..5, 4..7; then frames 6..8 wait. Track 3 ends by timeout (its
  // clip rides on a buffer), track 8 at the end of the stream (its clip rides on the event).
  GstHarness* h = make_harness(
      "hespclipbatch clip-length=4 clip-stride=2 crop-size=16 min-frames=2 track-timeout=1");
  std::vector<hesp::test::ClipRecord> three, eight;
  for (int i = 0; i < 9; ++i)
    for (auto& c : push(h, i, {3, 8})) (c.track_id == 3 ? three : eight).push_back(c);
  for (int i = 9; i < 12; ++i)
    for (auto& c : push(h, i, {8})) (c.track_id == 3 ? three : eight).push_back(c);
  ASSERT_EQ(three.size(), 4u);
  EXPECT_EQ(three[2].first_index, 4u);
  EXPECT_EQ(three[3].n_real_frames, 3u) << "frames 6, 7 and 8, padded";
  EXPECT_EQ(three[3].roi_id, -1);
  EXPECT_EQ(three[3].first_index, 6u);
  EXPECT_EQ(three[3].pts[0], 6 * GST_SECOND / 25);
  // Track 8: clips start at 0, 2, 4, 6, 8; frames 10 and 11 wait for the end of the stream.
  ASSERT_EQ(eight.size(), 5u);
  EXPECT_EQ(eight.back().first_index, 8u);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  int events = 0;
  while (GstEvent* ev = gst_harness_try_pull_event(h)) {
    if (gst_hesp_clip_event_is_clip(ev)) {
      guint track = 0, n = 0, real = 0, size = 0;
      GBytes* frames = nullptr;
      GstClockTime* pts = nullptr;
      guint64 first_index = 0;
      ASSERT_TRUE(
          gst_hesp_clip_event_parse(ev, &track, &n, &real, &size, &frames, &pts, &first_index));
      EXPECT_EQ(track, 8u);
      EXPECT_EQ(real, 2u);
      EXPECT_EQ(first_index, 10u);
      EXPECT_EQ(pts[0], 10 * GST_SECOND / 25);
      g_bytes_unref(frames);
      g_free(pts);
      // The index may be left out of the parse.
      EXPECT_TRUE(gst_hesp_clip_event_parse(ev, &track, &n, &real, &size, &frames, &pts, nullptr));
      ++events;
      g_bytes_unref(frames);
      g_free(pts);
    }
    gst_event_unref(ev);
  }
  gst_harness_teardown(h);
  EXPECT_EQ(events, 1);
}

TEST(HespClipBatch, TooShortTrackIsDropped) {
  GstHarness* h =
      make_harness("hespclipbatch clip-length=8 crop-size=16 min-frames=4 track-timeout=1");
  for (int i = 0; i < 3; ++i) push(h, i, {4});
  size_t clips = 0;
  for (int i = 3; i < 10; ++i) clips += push(h, i, {}).size();
  gst_harness_teardown(h);
  EXPECT_EQ(clips, 0u);
}

TEST(HespClipBatch, PartialClipsTravelInAnEventAtEos) {
  GstHarness* h = make_harness("hespclipbatch clip-length=8 crop-size=16 min-frames=2");
  for (int i = 0; i < 3; ++i) push(h, i, {2, 6});
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  std::vector<guint> tracks;
  bool saw_eos = false;
  while (GstEvent* ev = gst_harness_try_pull_event(h)) {
    if (gst_hesp_clip_event_is_clip(ev)) {
      EXPECT_FALSE(saw_eos) << "clip events must come before EOS";
      guint track = 0, n = 0, real = 0, size = 0;
      GBytes* frames = nullptr;
      GstClockTime* pts = nullptr;
      guint64 first_index = 99;
      ASSERT_TRUE(
          gst_hesp_clip_event_parse(ev, &track, &n, &real, &size, &frames, &pts, &first_index));
      EXPECT_EQ(first_index, 0u);
      EXPECT_EQ(n, 8u);
      EXPECT_EQ(real, 3u);
      EXPECT_EQ(size, 16u);
      EXPECT_EQ(g_bytes_get_size(frames), 8u * 16 * 16 * 3);
      EXPECT_EQ(pts[2], 2 * GST_SECOND / 25);
      tracks.push_back(track);
      g_bytes_unref(frames);
      g_free(pts);
    } else if (GST_EVENT_TYPE(ev) == GST_EVENT_EOS) {
      saw_eos = true;
    }
    gst_event_unref(ev);
  }
  gst_harness_teardown(h);
  EXPECT_TRUE(saw_eos);
  EXPECT_EQ(tracks, (std::vector<guint>{2, 6}));
}

TEST(HespClipBatch, FlushDropsBufferedFrames) {
  GstHarness* h = make_harness("hespclipbatch clip-length=4 clip-stride=4 crop-size=16");
  for (int i = 0; i < 3; ++i) push(h, i, {1});
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  // Without the flush, the 4th frame would complete a clip.
  EXPECT_TRUE(push(h, 3, {1}).empty());
  EXPECT_TRUE(push(h, 4, {1}).empty());
  EXPECT_TRUE(push(h, 5, {1}).empty());
  EXPECT_EQ(push(h, 6, {1}).size(), 1u);
  gst_harness_teardown(h);
}

TEST(HespClipBatch, CapsChangeDropsBufferedFrames) {
  GstHarness* h = make_harness("hespclipbatch clip-length=4 clip-stride=4 crop-size=16");
  for (int i = 0; i < 3; ++i) push(h, i, {1});
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=160,height=120,framerate=30/1");
  size_t clips = 0;
  for (int i = 3; i < 6; ++i) clips += push(h, i, {1}).size();
  EXPECT_EQ(clips, 0u);
  EXPECT_EQ(push(h, 6, {1}).size(), 1u);
  gst_harness_teardown(h);
}

TEST(HespClipBatch, MetaSurvivesBufferCopyWithoutCopyingPixels) {
  GstHarness* h =
      make_harness("hespclipbatch clip-length=1 clip-stride=1 min-frames=1 crop-size=16");
  GstBuffer* out = gst_harness_push_and_pull(h, frame_with_faces(0, {1}));
  gpointer state = nullptr;
  GstHespClipMeta* meta = gst_buffer_iterate_hesp_clip_meta(out, &state);
  ASSERT_NE(meta, nullptr);
  GstBuffer* copy = gst_buffer_copy(out);
  state = nullptr;
  GstHespClipMeta* copied = gst_buffer_iterate_hesp_clip_meta(copy, &state);
  ASSERT_NE(copied, nullptr);
  EXPECT_EQ(g_bytes_get_data(copied->frames, nullptr), g_bytes_get_data(meta->frames, nullptr));
  EXPECT_EQ(copied->track_id, 1u);
  // The second clip of the track (clips of one frame) starts at its sampled frame 1.
  EXPECT_EQ(meta->first_index, 0u);
  gst_buffer_unref(copy);
  gst_buffer_unref(out);
  out = gst_harness_push_and_pull(h, frame_with_faces(1, {1}));
  gst_harness_teardown(h);
  state = nullptr;
  meta = gst_buffer_iterate_hesp_clip_meta(out, &state);
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->first_index, 1u);
  copy = gst_buffer_copy(out);
  state = nullptr;
  copied = gst_buffer_iterate_hesp_clip_meta(copy, &state);
  ASSERT_NE(copied, nullptr);
  EXPECT_EQ(copied->first_index, 1u) << "the copy keeps the index";
  gst_buffer_unref(copy);
  gst_buffer_unref(out);
}

TEST(HespClipBatch, MinFramesAboveClipLengthIsASettingsError) {
  auto run = hesp::test::run_pipeline(
      "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=64,height=48 ! "
      "hespclipbatch clip-length=4 min-frames=6 ! fakesink");
  EXPECT_NE(run.error.find("min-frames"), std::string::npos) << run.error;
  EXPECT_EQ(run.error_domain, GST_LIBRARY_ERROR);
}

// align=landmarks and align=eyes load face-api's landmark net in start() and drop it in stop():
// cycled down to NULL and back up three times, the element starts again each time and still cuts
// aligned clips.
TEST(HespClipBatch, AlignedKindsSurviveStateCycles) {
  HESP_REQUIRE_FILE(hesp::test::cache_path(
      "npm/face-api-1.7.15/model/face_landmark_68_model-weights_manifest.json"));
  const char* caps = "video/x-raw,format=RGB,width=160,height=120,framerate=25/1";
  for (const char* align : {"landmarks", "eyes"}) {
    SCOPED_TRACE(align);
    GstHarness* h = make_harness(
        (std::string("hespclipbatch clip-length=2 crop-size=48 align=") + align).c_str());
    for (int round = 0; round < 3; ++round) {
      SCOPED_TRACE(round);
      EXPECT_TRUE(push(h, 2 * round, {1}).empty());
      const auto clips = push(h, 2 * round + 1, {1});
      ASSERT_EQ(clips.size(), 1u);
      EXPECT_EQ(clips[0].n_frames, 2u);
      EXPECT_EQ(clips[0].crop_size, 48u);
      EXPECT_EQ(clips[0].bytes, 2u * 48 * 48 * 3);
      for (GstState state : {GST_STATE_PAUSED, GST_STATE_READY, GST_STATE_NULL, GST_STATE_READY,
                             GST_STATE_PAUSED, GST_STATE_PLAYING})
        ASSERT_EQ(gst_element_set_state(h->element, state), GST_STATE_CHANGE_SUCCESS)
            << gst_element_state_get_name(state);
      // The pads lost their sticky events on the way down: a new stream starts.
      EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_stream_start("aligned")));
      gst_harness_set_src_caps_str(h, caps);
    }
    gst_harness_teardown(h);
  }
}

TEST(HespClipBatch, RealVideoEndToEnd) {
  HESP_REQUIRE_FILE(hesp::test::kphotoalbum_movie());
  auto run = hesp::test::run_on_movie(
      "hespfacecrop ! hespclipbatch clip-length=8 crop-size=112 ! appsink name=sink");
  ASSERT_EQ(run.error, "");
  size_t clips = 0;
  for (const auto& f : run.frames) {
    for (const auto& c : f.clips) {
      ++clips;
      EXPECT_EQ(c.n_frames, 8u);
      EXPECT_EQ(c.crop_size, 112u);
      EXPECT_EQ(c.bytes, 8u * 112 * 112 * 3);
      // Real frames in PTS order; padding (a track's early first clip) repeats the last one.
      for (size_t i = 1; i < c.pts.size(); ++i) {
        if (i < c.n_real_frames)
          EXPECT_LT(c.pts[i - 1], c.pts[i]);
        else
          EXPECT_EQ(c.pts[i - 1], c.pts[i]);
      }
      EXPECT_EQ(c.pts.back(), f.pts) << "the clip completes on the buffer that carries it";
    }
  }
  EXPECT_GE(clips, run.frames.size() / 8 - 1);
}

}  // namespace

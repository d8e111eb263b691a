// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <vector>

#include "hesp/error.h"
#include "hesp/face_clips.h"

namespace {

// A crop whose every byte is `value`, so tests can tell frames apart inside a clip.
hesp::FaceCrop crop_of(int size, std::uint8_t value) {
  hesp::FaceCrop c;
  c.size = size;
  c.rgb.assign(static_cast<size_t>(size) * size * 3, value);
  return c;
}

hesp::ClipConfig small_config() {
  hesp::ClipConfig c;
  c.crop_size = 8;
  c.clip_length = 4;
  c.clip_stride = 4;
  c.min_frames = 2;
  c.first_clip_frames = 0;  // the early first clip has tests of its own
  return c;
}

// small_config() with one field changed.
hesp::ClipConfig small_config_with(int hesp::ClipConfig::*field, int value) {
  hesp::ClipConfig c = small_config();
  c.*field = value;
  return c;
}

// Feeds `frames` frames of one track; returns the clips, and the frame index each completed on.
std::vector<std::pair<int, std::unique_ptr<hesp::Clip>>> feed(hesp::ClipAssembler& a, int frames,
                                                              std::uint32_t track = 7) {
  std::vector<std::pair<int, std::unique_ptr<hesp::Clip>>> out;
  for (int f = 0; f < frames; ++f) {
    a.begin_frame();
    if (a.wants_frame(track)) {
      auto clip =
          a.add(track, 1000u * f, crop_of(a.config().crop_size, static_cast<std::uint8_t>(f)));
      if (clip) out.emplace_back(f, std::move(clip));
    }
    for (auto& c : a.end_frame()) out.emplace_back(f, std::move(c));
  }
  return out;
}

// The frame indices (encoded in the pixel values) of a clip's frames.
std::vector<int> frame_values(const hesp::Clip& clip) {
  std::vector<int> v;
  const size_t bytes = static_cast<size_t>(clip.crop_size) * clip.crop_size * 3;
  for (int i = 0; i < clip.n_frames; ++i) v.push_back(clip.frames[bytes * i]);
  return v;
}

TEST(ClipAssembler, NonOverlappingClipsOfTFramesInPtsOrder) {
  hesp::ClipAssembler a(small_config());
  auto clips = feed(a, 12);
  ASSERT_EQ(clips.size(), 3u);
  EXPECT_EQ(clips[0].first, 3);
  EXPECT_EQ(clips[1].first, 7);
  EXPECT_EQ(clips[2].first, 11);
  for (size_t k = 0; k < clips.size(); ++k) {
    const hesp::Clip& c = *clips[k].second;
    EXPECT_EQ(c.track_id, 7u);
    EXPECT_EQ(c.crop_size, 8);
    EXPECT_EQ(c.n_frames, 4);
    EXPECT_EQ(c.n_real_frames, 4);
    ASSERT_EQ(c.frames.size(), 4u * 8 * 8 * 3);
    const int first = static_cast<int>(k) * 4;
    EXPECT_EQ(frame_values(c), (std::vector<int>{first, first + 1, first + 2, first + 3}));
    for (int i = 1; i < c.n_frames; ++i) EXPECT_LT(c.pts[i - 1], c.pts[i]);
  }
}

// One track under other strides and subsampling: how many clips, and the frames some of them hold.
struct StrideCase {
  const char* what;
  int clip_stride;
  int frame_subsample;
  int frames_fed;
  size_t n_clips;
  std::vector<std::pair<size_t, std::vector<int>>> clip_frames;  // clip index, its frames
  int first_clip_done_on;                                        // frame index; -1: not checked
};

const StrideCase kStrideCases[] = {
    // Clips start every 2 sampled frames once the first is full: frames 0-3, 2-5, 4-7.
    {"overlapping stride",
     2,
     1,
     8,
     3,
     {{0, {0, 1, 2, 3}}, {1, {2, 3, 4, 5}}, {2, {4, 5, 6, 7}}},
     -1},
    // 4 frames in, 2 skipped.
    {"stride longer than the clip skips frames",
     6,
     1,
     14,
     2,
     {{0, {0, 1, 2, 3}}, {1, {6, 7, 8, 9}}},
     -1},
    {"subsample takes every n-th frame",
     4,
     3,
     24,
     2,
     {{0, {0, 3, 6, 9}}, {1, {12, 15, 18, 21}}},
     9},
    // Sampled 0,2,4,6,8,10 -> clips start at each sampled frame.
    {"subsample and overlap combine", 1, 2, 12, 3, {{2, {4, 6, 8, 10}}}, -1},
};

TEST(ClipAssembler, StridesAndSubsamplingPickTheFrames) {
  for (const StrideCase& c : kStrideCases) {
    SCOPED_TRACE(c.what);
    auto config = small_config();
    config.clip_stride = c.clip_stride;
    config.frame_subsample = c.frame_subsample;
    hesp::ClipAssembler a(config);
    auto clips = feed(a, c.frames_fed);
    ASSERT_EQ(clips.size(), c.n_clips);
    for (const auto& [k, frames] : c.clip_frames) EXPECT_EQ(frame_values(*clips[k].second), frames);
    if (c.first_clip_done_on >= 0) {
      EXPECT_EQ(clips[0].first, c.first_clip_done_on);
    }
  }
}

// Clip::first_index: where a clip's first frame lies among its track's sampled frames.
std::vector<std::uint64_t> first_indices(
    const std::vector<std::pair<int, std::unique_ptr<hesp::Clip>>>& clips) {
  std::vector<std::uint64_t> v;
  for (const auto& c : clips) v.push_back(c.second->first_index);
  return v;
}

TEST(ClipAssembler, FirstIndexCountsTheTracksSampledFrames) {
  struct Case {
    const char* what;
    int clip_stride, frame_subsample, frames_fed;
    std::vector<std::uint64_t> want;
  };
  const Case cases[] = {
      {"back to back", 4, 1, 12, {0, 4, 8}},
      {"overlapping", 2, 1, 8, {0, 2, 4}},
      // Sampled frames 4 and 5 are skipped but still counted: the second clip holds 6..9.
      {"stride longer than the clip", 6, 1, 14, {0, 6}},
      // Frames 0, 3, 6, ... are sampled frames 0, 1, 2, ...: indices count sampled frames.
      {"subsampled", 4, 3, 24, {0, 4}},
      {"subsampled and overlapping", 1, 2, 12, {0, 1, 2}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto config = small_config();
    config.clip_stride = c.clip_stride;
    config.frame_subsample = c.frame_subsample;
    hesp::ClipAssembler a(config);
    const auto clips = feed(a, c.frames_fed);
    EXPECT_EQ(first_indices(clips), c.want);
    // Frame f of a clip is the track's sampled frame first_index + f (the pixel values are the
    // video frame index = sampled index x subsample).
    for (const auto& [on, clip] : clips)
      EXPECT_EQ(frame_values(*clip).front(),
                static_cast<int>(clip->first_index) * c.frame_subsample);
  }
}

TEST(ClipAssembler, FirstIndexOfEarlyAndPartialClips) {
  hesp::ClipAssembler a(small_config_with(&hesp::ClipConfig::first_clip_frames, 1));
  const auto clips = feed(a, 7);  // early clip (frame 0), full clip 0..3, frames 4..6 wait
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0].second->n_real_frames, 1);
  EXPECT_EQ(first_indices(clips), (std::vector<std::uint64_t>{0, 0}));
  auto partial = a.finish(7);
  ASSERT_NE(partial, nullptr);
  EXPECT_EQ(partial->n_real_frames, 3);
  EXPECT_EQ(partial->first_index, 4u);
  EXPECT_EQ(frame_values(*partial), (std::vector<int>{4, 5, 6, 6}));

  // A track that ends by timeout, and partial clips at the end of the stream.
  hesp::ClipAssembler b(small_config_with(&hesp::ClipConfig::track_timeout, 1));
  feed(b, 6, 3);  // clip 0..3, then 4, 5 wait
  std::vector<std::unique_ptr<hesp::Clip>> ended;
  for (int f = 0; f < 3 && ended.empty(); ++f) {
    b.begin_frame();
    ended = b.end_frame();
  }
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]->first_index, 4u);
  hesp::ClipAssembler c(small_config());
  feed(c, 10, 1);  // clips 0..3, 4..7; 8, 9 wait
  const auto at_eos = c.finish_all();
  ASSERT_EQ(at_eos.size(), 1u);
  EXPECT_EQ(at_eos[0]->first_index, 8u);
  // A new track (or the same id after reset) starts counting again.
  c.reset();
  const auto again = feed(c, 4, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].second->first_index, 0u);
}

TEST(ClipAssembler, FinishPadsPartialClipWithLastFrame) {
  hesp::ClipAssembler a(small_config());
  feed(a, 6);  // one full clip, then frames 4 and 5 wait
  auto clip = a.finish(7);
  ASSERT_NE(clip, nullptr);
  EXPECT_EQ(clip->n_real_frames, 2);
  EXPECT_EQ(frame_values(*clip), (std::vector<int>{4, 5, 5, 5}));
  EXPECT_EQ(clip->pts[3], clip->pts[1]);
  EXPECT_EQ(a.buffered_tracks(), 0u);
}

TEST(ClipAssembler, FinishDropsClipsShorterThanMinFrames) {
  hesp::ClipAssembler a(small_config());
  feed(a, 5);  // frame 4 alone after the first clip
  EXPECT_EQ(a.finish(7), nullptr);
  EXPECT_EQ(a.finish(99), nullptr);  // unknown track
}

TEST(ClipAssembler, FinishAllAtEndOfStream) {
  hesp::ClipAssembler a(small_config());
  for (int f = 0; f < 3; ++f) {
    a.begin_frame();
    for (std::uint32_t t : {3u, 1u}) {
      ASSERT_TRUE(a.wants_frame(t));
      EXPECT_EQ(a.add(t, f, crop_of(8, static_cast<std::uint8_t>(f))), nullptr);
    }
    EXPECT_TRUE(a.end_frame().empty());
  }
  auto clips = a.finish_all();
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0]->track_id, 1u);
  EXPECT_EQ(clips[1]->track_id, 3u);
  EXPECT_EQ(clips[0]->n_real_frames, 3);
}

TEST(ClipAssembler, AbsentTrackIsFinishedAfterTimeout) {
  hesp::ClipAssembler a(small_config_with(&hesp::ClipConfig::track_timeout, 2));
  feed(a, 3, 5);
  // Track 5 vanishes: frames with no faces.
  std::vector<std::unique_ptr<hesp::Clip>> ended;
  int ended_on = -1;
  for (int f = 0; f < 5 && ended.empty(); ++f) {
    a.begin_frame();
    ended = a.end_frame();
    ended_on = f;
  }
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended_on, 2);  // absent for 3 frames > timeout 2
  EXPECT_EQ(ended[0]->track_id, 5u);
  EXPECT_EQ(ended[0]->n_real_frames, 3);
}

TEST(ClipAssembler, MaxTracksEvictsLeastRecentlySeen) {
  hesp::ClipAssembler a(small_config_with(&hesp::ClipConfig::max_tracks, 2));
  a.begin_frame();
  a.wants_frame(1);
  a.begin_frame();
  a.wants_frame(2);
  a.begin_frame();
  a.wants_frame(3);  // evicts track 1
  EXPECT_EQ(a.buffered_tracks(), 2u);
  EXPECT_EQ(a.finish(1), nullptr);
}

TEST(ClipAssembler, ResetDropsEverything) {
  hesp::ClipAssembler a(small_config());
  feed(a, 3);
  a.reset();
  EXPECT_EQ(a.buffered_tracks(), 0u);
  EXPECT_TRUE(a.finish_all().empty());
}

TEST(ClipAssembler, EarlyFirstClipComesOnceAndLeavesTheFullClipsAlone) {
  hesp::ClipAssembler a(small_config_with(&hesp::ClipConfig::first_clip_frames, 1));
  const auto clips = feed(a, 8);  // clip length 4, stride 4
  ASSERT_EQ(clips.size(), 3u);
  // Frame 0: one real frame, padded to the clip length with repeats of it.
  EXPECT_EQ(clips[0].first, 0);
  EXPECT_EQ(clips[0].second->n_real_frames, 1);
  EXPECT_EQ(clips[0].second->n_frames, 4);
  EXPECT_EQ(frame_values(*clips[0].second), (std::vector<int>{0, 0, 0, 0}));
  // The full clips are exactly those without the early clip.
  EXPECT_EQ(clips[1].first, 3);
  EXPECT_EQ(frame_values(*clips[1].second), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(clips[1].second->n_real_frames, 4);
  EXPECT_EQ(frame_values(*clips[2].second), (std::vector<int>{4, 5, 6, 7}));
}

TEST(ClipAssembler, EarlyFirstClipAfterSeveralFramesAndNeverForALongerSetting) {
  hesp::ClipAssembler two(small_config_with(&hesp::ClipConfig::first_clip_frames, 2));
  const auto clips = feed(two, 4);
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0].first, 1);
  EXPECT_EQ(frame_values(*clips[0].second), (std::vector<int>{0, 1, 1, 1}));
  EXPECT_EQ(clips[0].second->n_real_frames, 2);
  // Equal to the clip length: the first full clip is the first clip; nothing extra.
  hesp::ClipAssembler full(small_config_with(&hesp::ClipConfig::first_clip_frames, 4));
  EXPECT_EQ(feed(full, 4).size(), 1u);
  EXPECT_THROW(hesp::ClipAssembler{small_config_with(&hesp::ClipConfig::first_clip_frames, 5)},
               hesp::SettingsError);
}

TEST(ClipAssembler, RejectsBadSettingsAndCrops) {
  EXPECT_THROW(hesp::ClipAssembler{small_config_with(&hesp::ClipConfig::min_frames, 5)},
               hesp::SettingsError);  // min_frames > clip_length
  EXPECT_THROW(hesp::ClipAssembler{small_config_with(&hesp::ClipConfig::clip_stride, 0)},
               hesp::SettingsError);
  hesp::ClipAssembler a(small_config());
  a.begin_frame();
  a.wants_frame(1);
  EXPECT_THROW(a.add(1, 0, crop_of(16, 0)), hesp::InputError);
}

}  // namespace

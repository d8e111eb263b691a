// SPDX-License-Identifier: LGPL-2.1-or-later
// SORT and ByteTrack (hesp::ByteTracker) and what every tracker kind shares.
#include <gtest/gtest.h>

#include <set>

#include "hesp/error.h"
#include "hesp/tracker.h"

namespace {

hesp::Detection det(float x, float y, float confidence = 0.9f, float size = 60.f) {
  return hesp::Detection{hesp::Box{x, y, size, size}, confidence};
}

hesp::TrackerConfig byte_config() {
  hesp::TrackerConfig c;
  c.high_confidence = 0.5f;
  c.low_confidence = 0.1f;
  return c;
}

// A camera pan: the face moves 8 px per frame; the detector runs on every third frame.
TEST(ByteTracker, BoxFollowsAPanningFaceBetweenDetections) {
  for (auto kind : {hesp::TrackerKind::kSort, hesp::TrackerKind::kByteTrack}) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto tracker = hesp::make_tracker(kind, byte_config());
    std::uint32_t id = 0;
    for (int frame = 0; frame < 45; ++frame) {
      const float x = 20.f + 8.f * frame;
      if (frame % 3 == 0)
        tracker->update({det(x, 100)});
      else
        tracker->carry();
      ASSERT_EQ(tracker->tracks().size(), 1u) << "frame " << frame;
      const hesp::Track& t = tracker->tracks()[0];
      if (frame == 0) id = t.id;
      EXPECT_EQ(t.id, id) << "frame " << frame;
      // Once the velocity is learnt, the box sits on the face on the frames in between too.
      if (frame >= 15) {
        EXPECT_NEAR(t.box.x, x, 6.f) << "frame " << frame;
      }
    }
  }
}

TEST(ByteTracker, IouTrackerLagsOnTheSamePan) {
  // The comparison the Kalman filter is for: the IoU tracker's box stands still between detections.
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kIou, byte_config());
  float worst = 0.f;
  for (int frame = 0; frame < 45; ++frame) {
    const float x = 20.f + 8.f * frame;
    if (frame % 3 == 0)
      tracker->update({det(x, 100)});
    else
      tracker->carry();
    worst = std::max(worst, std::abs(tracker->tracks().at(0).box.x - x));
  }
  EXPECT_FLOAT_EQ(worst, 16.f);
}

TEST(ByteTracker, WeakDetectionKeepsTheTrack) {
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kByteTrack, byte_config());
  tracker->update({det(100, 100, 0.9f)});
  const auto id = tracker->tracks().at(0).id;
  // The face turns away: the detector is unsure of it for a while.
  for (int i = 1; i <= 5; ++i) {
    tracker->update({det(100.f + i, 100, 0.2f)});
    ASSERT_EQ(tracker->tracks().size(), 1u);
    EXPECT_EQ(tracker->tracks()[0].id, id);
    EXPECT_EQ(tracker->tracks()[0].frames_since_seen, 0) << "matched in the second stage";
    EXPECT_EQ(tracker->tracks()[0].detection_index, 0);
    EXPECT_FLOAT_EQ(tracker->tracks()[0].confidence, 0.2f);
  }
}

TEST(ByteTracker, WeakDetectionStartsNoTrack) {
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kByteTrack, byte_config());
  tracker->update({det(100, 100, 0.9f), det(400, 100, 0.3f), det(700, 100, 0.05f)});
  ASSERT_EQ(tracker->tracks().size(), 1u);
  EXPECT_FLOAT_EQ(tracker->tracks()[0].box.x, 100.f);
  // Nor later, on a frame of its own.
  tracker->update({det(100, 100, 0.9f), det(400, 100, 0.3f)});
  EXPECT_EQ(tracker->tracks().size(), 1u);
}

TEST(ByteTracker, WeakDetectionFarFromATrackIsIgnored) {
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kByteTrack, byte_config());
  tracker->update({det(100, 100, 0.9f)});
  // Overlaps the track by IoU ~0.38: enough for a confident detection, not for a weak one.
  tracker->update({det(125, 100, 0.2f)});
  ASSERT_EQ(tracker->tracks().size(), 1u);
  EXPECT_EQ(tracker->tracks()[0].frames_since_seen, 1);
  tracker->update({det(125, 100, 0.9f)});
  EXPECT_EQ(tracker->tracks()[0].frames_since_seen, 0);
}

TEST(ByteTracker, ConfidentDetectionsAreMatchedBeforeWeakOnes) {
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kByteTrack, byte_config());
  tracker->update({det(100, 100, 0.9f)});
  const auto id = tracker->tracks()[0].id;
  // A weak box right on the track and a confident one a little off: the confident one wins.
  tracker->update({det(100, 100, 0.2f), det(108, 100, 0.9f)});
  ASSERT_EQ(tracker->tracks().size(), 1u);
  EXPECT_EQ(tracker->tracks()[0].id, id);
  EXPECT_EQ(tracker->tracks()[0].detection_index, 1);
}

TEST(ByteTracker, SortTreatsEveryDetectionAlike) {
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kSort, byte_config());
  tracker->update({det(100, 100, 0.9f), det(400, 100, 0.2f)});
  EXPECT_EQ(tracker->tracks().size(), 2u);
}

TEST(ByteTracker, TwoCrossingFacesKeepTheirIds) {
  // Two faces moving towards each other, detected every other frame; they pass 80 px apart
  // vertically, so their boxes never overlap, and each id must stay with its face.
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kByteTrack, byte_config());
  std::uint32_t left = 0, right = 0;
  for (int frame = 0; frame < 40; frame += 1) {
    const float a = 50.f + 10.f * frame, b = 500.f - 10.f * frame;
    if (frame % 2 == 0)
      tracker->update({det(b, 180), det(a, 100)});
    else
      tracker->carry();
    ASSERT_EQ(tracker->tracks().size(), 2u) << "frame " << frame;
    for (const auto& t : tracker->tracks()) {
      std::uint32_t& expected = t.box.y < 140 ? left : right;
      if (frame == 0) expected = t.id;
      EXPECT_EQ(t.id, expected) << "frame " << frame;
    }
  }
  EXPECT_NE(left, right);
}

TEST(Trackers, EndAllEndsEveryTrackAndNoIdComesBack) {
  for (auto kind :
       {hesp::TrackerKind::kIou, hesp::TrackerKind::kSort, hesp::TrackerKind::kByteTrack}) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto tracker = hesp::make_tracker(kind, byte_config());
    tracker->update({det(0, 0), det(200, 0)});
    std::set<std::uint32_t> before;
    for (const auto& t : tracker->tracks()) before.insert(t.id);
    const auto ended = tracker->end_all();
    EXPECT_EQ(std::set<std::uint32_t>(ended.begin(), ended.end()), before);
    EXPECT_TRUE(tracker->tracks().empty());
    // The same boxes right after the cut are new faces.
    tracker->update({det(0, 0), det(200, 0)});
    ASSERT_EQ(tracker->tracks().size(), 2u);
    for (const auto& t : tracker->tracks()) EXPECT_EQ(before.count(t.id), 0u);
    EXPECT_TRUE(tracker->carry().empty());
  }
}

TEST(Trackers, TimeoutEndsTracksOfEveryKind) {
  for (auto kind :
       {hesp::TrackerKind::kIou, hesp::TrackerKind::kSort, hesp::TrackerKind::kByteTrack}) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    hesp::TrackerConfig c = byte_config();
    c.timeout_frames = 3;
    auto tracker = hesp::make_tracker(kind, c);
    tracker->update({det(10, 10)});
    const auto id = tracker->tracks()[0].id;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(tracker->carry().empty());
    const auto ended = tracker->carry();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0], id);
    EXPECT_TRUE(tracker->tracks().empty());
  }
}

TEST(Trackers, AppearanceGateKeepsADifferentFaceOffTheTrack) {
  hesp::TrackerConfig c = byte_config();
  c.min_appearance_similarity = 0.8f;
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kByteTrack, c);
  hesp::Detection a = det(100, 100);
  a.embedding = {1.f, 0.f, 0.f};
  tracker->update({a});
  const auto id = tracker->tracks()[0].id;
  hesp::Detection same = det(104, 100);
  same.embedding = {0.95f, 0.1f, 0.f};
  tracker->update({same});
  ASSERT_EQ(tracker->tracks().size(), 1u);
  EXPECT_EQ(tracker->tracks()[0].frames_since_seen, 0);
  // Another person steps into the same place: it may not take over the id.
  hesp::Detection other = det(104, 100);
  other.embedding = {0.f, 1.f, 0.f};
  tracker->update({other});
  for (const auto& t : tracker->tracks()) {
    if (t.id == id) {
      EXPECT_EQ(t.frames_since_seen, 1);
    }
  }
  // Without embeddings the gate stays open.
  tracker->update({det(104, 100)});
  bool matched = false;
  for (const auto& t : tracker->tracks()) matched |= t.frames_since_seen == 0;
  EXPECT_TRUE(matched);
}

TEST(Trackers, KindNamesRoundTrip) {
  for (auto kind :
       {hesp::TrackerKind::kIou, hesp::TrackerKind::kSort, hesp::TrackerKind::kByteTrack}) {
    EXPECT_EQ(hesp::parse_tracker_kind(hesp::tracker_kind_name(kind)), kind);
    EXPECT_EQ(hesp::make_tracker(kind, {})->kind(), kind);
  }
  EXPECT_THROW(hesp::parse_tracker_kind("kalman"), hesp::SettingsError);
  hesp::TrackerConfig c;
  c.low_confidence = 0.6f;
  c.high_confidence = 0.5f;
  EXPECT_THROW(hesp::make_tracker(hesp::TrackerKind::kByteTrack, c), hesp::SettingsError);
}

}  // namespace

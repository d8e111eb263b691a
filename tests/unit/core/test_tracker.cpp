// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include "hesp/error.h"
#include "hesp/tracker.h"

namespace {

hesp::Detection det(float x, float y, float size = 50.f) {
  return hesp::Detection{hesp::Box{x, y, size, size}, 0.9f};
}

hesp::IouTracker tracker_with_timeout(int frames) {
  hesp::TrackerConfig config;
  config.timeout_frames = frames;
  return hesp::IouTracker(config);
}

// Shows `tracker` one face at (10, 10), then `gap` frames without a face; returns the face's id.
auto seen_then_gone(hesp::IouTracker& tracker, int gap) {
  tracker.update({det(10, 10)});
  const auto id = tracker.tracks()[0].id;
  for (int i = 0; i < gap; ++i) tracker.update({});
  return id;
}

TEST(IouTracker, MovingFaceKeepsItsId) {
  hesp::IouTracker tracker;
  tracker.update({det(100, 100)});
  ASSERT_EQ(tracker.tracks().size(), 1u);
  const auto id = tracker.tracks()[0].id;
  for (int i = 1; i <= 50; ++i) {
    tracker.update({det(100 + 3.f * i, 100 + 1.f * i)});
    ASSERT_EQ(tracker.tracks().size(), 1u);
    EXPECT_EQ(tracker.tracks()[0].id, id) << "frame " << i;
  }
}

TEST(IouTracker, TwoFacesKeepSeparateIdsWhenOrderSwaps) {
  hesp::IouTracker tracker;
  tracker.update({det(0, 0), det(300, 0)});
  const auto left = tracker.tracks()[0].id, right = tracker.tracks()[1].id;
  ASSERT_NE(left, right);
  // The detector returns them in the other order: ids must follow boxes, not list positions.
  tracker.update({det(305, 2), det(4, 1)});
  for (const auto& t : tracker.tracks()) {
    if (t.box.x < 150)
      EXPECT_EQ(t.id, left);
    else
      EXPECT_EQ(t.id, right);
  }
}

TEST(IouTracker, CarryKeepsBoxesUntilTimeout) {
  hesp::IouTracker tracker = tracker_with_timeout(3);
  const auto id = seen_then_gone(tracker, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(tracker.carry().empty());
    ASSERT_EQ(tracker.tracks().size(), 1u);
    EXPECT_FLOAT_EQ(tracker.tracks()[0].box.x, 10.f);
  }
  const auto ended = tracker.carry();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0], id);
  EXPECT_TRUE(tracker.tracks().empty());
}

TEST(IouTracker, FaceBackAfterTimeoutGetsNewId) {
  hesp::IouTracker tracker = tracker_with_timeout(2);
  const auto first = seen_then_gone(tracker, 3);  // gone now
  tracker.update({det(10, 10)});
  ASSERT_EQ(tracker.tracks().size(), 1u);
  EXPECT_NE(tracker.tracks()[0].id, first);
}

TEST(IouTracker, ShortGapKeepsId) {
  hesp::IouTracker tracker = tracker_with_timeout(5);
  const auto id = seen_then_gone(tracker, 2);
  tracker.update({det(12, 11)});
  EXPECT_EQ(tracker.tracks()[0].id, id);
  EXPECT_EQ(tracker.tracks()[0].frames_since_seen, 0);
}

TEST(IouTracker, NonOverlappingDetectionStartsNewTrack) {
  hesp::IouTracker tracker;
  tracker.update({det(0, 0)});
  tracker.update({det(200, 200)});
  EXPECT_EQ(tracker.tracks().size(), 2u);
}

TEST(IouTracker, MaxTracksKeepsLargestRecentFaces) {
  hesp::TrackerConfig config;
  config.max_tracks = 3;
  hesp::IouTracker tracker(config);
  std::vector<hesp::Detection> many;
  for (int i = 0; i < 10; ++i) many.push_back(det(i * 100.f, 0, 20.f + i));
  const auto ended = tracker.update(many);
  EXPECT_EQ(tracker.tracks().size(), 3u);
  EXPECT_EQ(ended.size(), 7u);
  for (const auto& t : tracker.tracks()) EXPECT_GE(t.box.width, 27.f);
}

TEST(IouTracker, ResetNeverReusesIds) {
  hesp::IouTracker tracker;
  tracker.update({det(0, 0)});
  const auto id = tracker.tracks()[0].id;
  tracker.reset();
  EXPECT_TRUE(tracker.tracks().empty());
  tracker.update({det(0, 0)});
  EXPECT_GT(tracker.tracks()[0].id, id);
}

TEST(IouTracker, RejectsBadSettings) {
  hesp::TrackerConfig config;
  config.iou_threshold = 1.5f;
  EXPECT_THROW(hesp::IouTracker{config}, hesp::SettingsError);
  config = {};
  config.max_tracks = 0;
  EXPECT_THROW(hesp::IouTracker{config}, hesp::SettingsError);
}

TEST(BoxGeometry, IouAndSquare) {
  EXPECT_FLOAT_EQ(hesp::iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.f);
  EXPECT_FLOAT_EQ(hesp::iou({0, 0, 10, 10}, {5, 0, 10, 10}), 50.f / 150.f);
  EXPECT_FLOAT_EQ(hesp::iou({0, 0, 10, 10}, {20, 20, 10, 10}), 0.f);
  EXPECT_FLOAT_EQ(hesp::iou({0, 0, 0, 10}, {0, 0, 0, 10}), 0.f);
  const hesp::Box sq = hesp::square_around({10, 20, 40, 20}, 0.25f);
  EXPECT_FLOAT_EQ(sq.width, 60.f);
  EXPECT_FLOAT_EQ(sq.height, 60.f);
  EXPECT_FLOAT_EQ(sq.center_x(), 30.f);
  EXPECT_FLOAT_EQ(sq.center_y(), 30.f);
  const hesp::Box clipped = hesp::clip_to_frame({-5, -5, 20, 20}, 10, 100);
  EXPECT_FLOAT_EQ(clipped.x, 0.f);
  EXPECT_FLOAT_EQ(clipped.width, 10.f);
  EXPECT_FLOAT_EQ(clipped.height, 15.f);
}

}  // namespace

namespace {
TEST(IouTracker, DuplicateBoxOnTrackedFaceStartsNoTrack) {
  hesp::IouTracker tracker;
  tracker.update({det(100, 100, 60)});
  // Same face reported twice, the second box shifted by half a face.
  tracker.update({det(102, 100, 60), det(130, 100, 60)});
  EXPECT_EQ(tracker.tracks().size(), 1u);
}
}  // namespace

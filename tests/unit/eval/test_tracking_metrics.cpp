// SPDX-License-Identifier: LGPL-2.1-or-later
// Tracking metrics on sequences small enough to score by hand: perfect tracking, an identity
// switch, misses and false positives, faces that need not be found, a track that outlives a cut,
// the centre error, and the assignment they rest on.
#include <gtest/gtest.h>

#include <vector>

#include "hesp/tracking_metrics.h"

namespace hesp {
namespace {

Box box(float x, float y, float side = 40.f) { return Box{x, y, side, side}; }

TrackingFrame frame(int shot, std::vector<TruthFace> truth, std::vector<TrackBox> tracks) {
  return TrackingFrame{shot, std::move(truth), std::move(tracks)};
}

TEST(MinCostAssignment, FindsTheCheapestPermutation) {
  // Greedy by row would take (0,0)=1 and then pay 9 or 8; the optimum is 2 + 3 + 2.
  const std::vector<int> a = min_cost_assignment({{1, 2, 9}, {2, 9, 3}, {9, 2, 8}});
  EXPECT_EQ(a, (std::vector<int>{0, 2, 1}));
  EXPECT_EQ(min_cost_assignment({{4, 1, 3}, {2, 0, 5}, {3, 2, 2}}), (std::vector<int>{1, 0, 2}));
}

TEST(MinCostAssignment, RectangularEitherWay) {
  EXPECT_EQ(min_cost_assignment({{5, 1, 7, 3}, {1, 6, 6, 6}}), (std::vector<int>{1, 0}));
  EXPECT_EQ(min_cost_assignment({{5, 1}, {1, 6}, {0, 3}}), (std::vector<int>{1, -1, 0}));
  EXPECT_TRUE(min_cost_assignment({}).empty());
}

TEST(TrackingMetrics, PerfectTrackingScoresOne) {
  std::vector<TrackingFrame> frames;
  for (int i = 0; i < 4; ++i)
    frames.push_back(frame(0, {{1, box(10.f + i, 10)}, {2, box(100.f + i, 10)}},
                           {{7, box(10.f + i, 10)}, {8, box(100.f + i, 10)}}));
  for (int i = 0; i < 3; ++i)
    frames.push_back(frame(1, {{3, box(50, 60.f + i)}}, {{9, box(50, 60.f + i)}}));
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.frames, 7);
  EXPECT_EQ(m.shots, 2);
  EXPECT_EQ(m.cuts, 1);
  EXPECT_EQ(m.truth_boxes, 11);
  EXPECT_EQ(m.matches, 11);
  EXPECT_EQ(m.false_positives + m.misses + m.id_switches, 0);
  EXPECT_DOUBLE_EQ(m.mota, 1.0);
  EXPECT_DOUBLE_EQ(m.idf1, 1.0);
  EXPECT_DOUBLE_EQ(m.motp_iou, 1.0);
  EXPECT_EQ(m.truth_ids, 3);
  EXPECT_EQ(m.track_ids, 3);
  EXPECT_EQ(m.stale_boxes, 0);
  EXPECT_EQ(m.ghosts_after_cut, (std::vector<int>{0, 0, 0, 0, 0}));
  EXPECT_EQ(m.centre_error_count, 8);  // every face moves 1 px a frame, first frames excepted
  EXPECT_DOUBLE_EQ(m.centre_error_mean, 0.0);
}

TEST(TrackingMetrics, CountsOneIdentitySwitch) {
  std::vector<TrackingFrame> frames;
  for (int i = 0; i < 4; ++i)
    frames.push_back(frame(0, {{1, box(10, 10)}}, {{i < 2 ? 5 : 6, box(10, 10)}}));
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.id_switches, 1);
  EXPECT_EQ(m.matches, 4);
  EXPECT_DOUBLE_EQ(m.mota, 0.75);
  // The face gets one of the two tracks: 2 frames of 4 + 4 boxes.
  EXPECT_EQ(m.idtp, 2);
  EXPECT_DOUBLE_EQ(m.idf1, 0.5);
}

TEST(TrackingMetrics, KeepsAnOverlappingTrackRatherThanSwitching) {
  // Frame 1: track 6 overlaps the face better than track 5, but 5 still matches: no switch.
  std::vector<TrackingFrame> frames{
      frame(0, {{1, box(10, 10)}}, {{5, box(10, 10)}}),
      frame(0, {{1, box(10, 10)}}, {{5, box(14, 10)}, {6, box(10, 10)}}),
  };
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.id_switches, 0);
  EXPECT_EQ(m.matches, 2);
  EXPECT_EQ(m.false_positives, 1);
}

TEST(TrackingMetrics, CountsMissesAndFalsePositives) {
  std::vector<TrackingFrame> frames{
      frame(0, {{1, box(10, 10)}}, {}),                    // a miss
      frame(0, {{1, box(10, 10)}}, {{5, box(300, 300)}}),  // a miss and a false positive
      frame(0, {{1, box(10, 10)}}, {{5, box(30, 10)}}),    // IoU 20*40/(60*40) = 1/3: no match
      frame(0, {{1, box(10, 10)}}, {{5, box(12, 10)}}),    // a match
  };
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.misses, 3);
  EXPECT_EQ(m.false_positives, 2);
  EXPECT_EQ(m.matches, 1);
  EXPECT_DOUBLE_EQ(m.mota, 1.0 - 5.0 / 4.0);
  EXPECT_DOUBLE_EQ(m.precision, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.25);
  // A looser threshold accepts the third frame's box.
  TrackingMetricsOptions loose;
  loose.iou_threshold = 0.3f;
  EXPECT_EQ(evaluate_tracking(frames, loose).matches, 2);
}

TEST(TrackingMetrics, FacesThatNeedNotBeFoundCountNeitherWay) {
  TruthFace small{2, box(200, 200, 10), false};
  std::vector<TrackingFrame> frames{
      frame(0, {{1, box(10, 10)}, small}, {{5, box(10, 10)}}),
      frame(0, {{1, box(10, 10)}, small}, {{5, box(10, 10)}, {6, box(200, 200, 10)}}),
  };
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.truth_boxes, 2);
  EXPECT_EQ(m.track_boxes, 2);
  EXPECT_EQ(m.misses, 0);
  EXPECT_EQ(m.false_positives, 0);
  EXPECT_DOUBLE_EQ(m.mota, 1.0);
  EXPECT_DOUBLE_EQ(m.idf1, 1.0);
}

TEST(TrackingMetrics, CountsATrackThatOutlivesACut) {
  std::vector<TrackingFrame> frames;
  for (int i = 0; i < 3; ++i) frames.push_back(frame(0, {{1, box(10, 10)}}, {{5, box(10, 10)}}));
  // The new shot's face is elsewhere; track 5 stays where the old face was for 4 frames, and the
  // new face gets track 6 from the second frame on.
  for (int k = 0; k < 6; ++k) {
    std::vector<TrackBox> tracks;
    if (k < 4) tracks.push_back({5, box(10, 10)});
    if (k >= 1) tracks.push_back({6, box(200, 100)});
    frames.push_back(frame(1, {{2, box(200, 100)}}, tracks));
  }
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.cuts, 1);
  EXPECT_EQ(m.stale_boxes, 2);  // frames cut+2 and cut+3
  EXPECT_EQ(m.stale_tracks, 1);
  EXPECT_EQ(m.ghosts_after_cut, (std::vector<int>{1, 1, 1, 1, 0}));
  EXPECT_EQ(m.false_positives, 4);
  EXPECT_EQ(m.misses, 1);
  EXPECT_EQ(m.id_switches, 0);

  TrackingMetricsOptions later;
  later.stale_after_frames = 3;
  later.ghost_frames = 2;
  const TrackingMetrics l = evaluate_tracking(frames, later);
  EXPECT_EQ(l.stale_boxes, 1);
  EXPECT_EQ(l.ghosts_after_cut, (std::vector<int>{1, 1}));
}

TEST(TrackingMetrics, AStaleTrackLandingOnANewFaceIsStillStale) {
  std::vector<TrackingFrame> frames{
      frame(0, {{1, box(10, 10)}}, {{5, box(10, 10)}}),
      frame(1, {{2, box(12, 10)}}, {{5, box(10, 10)}}),
      frame(1, {{2, box(12, 10)}}, {{5, box(10, 10)}}),
      frame(1, {{2, box(12, 10)}}, {{5, box(10, 10)}}),
  };
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.stale_boxes, 1);          // frame cut+2
  EXPECT_EQ(m.ghosts_after_cut[0], 0);  // it lies on a face
  EXPECT_EQ(m.matches, 4);
}

TEST(TrackingMetrics, CentreErrorOnMovingFacesOverFaceSize) {
  std::vector<TrackingFrame> frames;
  // The face moves 2 px a frame for 3 frames, then stands still; the box trails 4 px behind.
  const float xs[] = {100, 102, 104, 106, 106, 106};
  for (float x : xs) frames.push_back(frame(0, {{1, box(x, 10)}}, {{5, box(x - 4, 10)}}));
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.centre_error_count, 3);
  EXPECT_NEAR(m.centre_error_mean, 4.0 / 40.0, 1e-6);
  EXPECT_NEAR(m.centre_error_p95, 4.0 / 40.0, 1e-6);
  // A constant offset is all placement: the box follows the face exactly.
  ASSERT_EQ(m.centre_error_by_face.size(), 1u);
  EXPECT_EQ(m.centre_error_by_face[0].id, 1);
  EXPECT_EQ(m.centre_error_by_face[0].count, 3);
  EXPECT_NEAR(m.centre_error_by_face[0].offset_x, -0.1, 1e-6);
  EXPECT_NEAR(m.centre_error_by_face[0].offset_y, 0.0, 1e-6);
  EXPECT_NEAR(m.follow_error_mean, 0.0, 1e-6);
  EXPECT_NEAR(m.follow_error_p95, 0.0, 1e-6);
}

TEST(TrackingMetrics, FollowErrorTakesAwayEachFacesOwnOffset) {
  std::vector<TrackingFrame> frames;
  // Face 1's box sits 8 px to its right throughout; face 2's box lags 0, 4, 8 px behind as the
  // face speeds up. Only face 2 counts towards the follow error.
  const float x1[] = {100, 102, 104, 106};
  const float x2[] = {300, 300, 304, 312};
  const float lag[] = {0, 0, 4, 8};
  for (int i = 0; i < 4; ++i)
    frames.push_back(frame(0, {{1, box(x1[i], 10)}, {2, box(x2[i], 10)}},
                           {{5, box(x1[i] + 8, 10)}, {6, box(x2[i] - lag[i], 10)}}));
  const TrackingMetrics m = evaluate_tracking(frames);
  EXPECT_EQ(m.centre_error_count, 5);  // face 2 stands still between frames 0 and 1
  ASSERT_EQ(m.centre_error_by_face.size(), 2u);
  EXPECT_NEAR(m.centre_error_by_face[0].offset_x, 0.2, 1e-6);
  EXPECT_NEAR(m.centre_error_by_face[0].mean, 0.2, 1e-6);
  EXPECT_NEAR(m.centre_error_by_face[1].offset_x, -0.15, 1e-6);
  EXPECT_NEAR(m.centre_error_by_face[1].mean, 0.15, 1e-6);
  // Face 2 lies 0.05 of its size off its mean offset on both frames; face 1 not at all.
  EXPECT_NEAR(m.follow_error_mean, 2 * 0.05 / 5, 1e-6);
  EXPECT_NEAR(m.follow_error_p95, 0.05, 1e-6);
  EXPECT_NEAR(m.centre_error_mean, (3 * 0.2 + 0.1 + 0.2) / 5, 1e-6);
}

TEST(TrackingMetrics, EmptyInputIsHarmless) {
  const TrackingMetrics m = evaluate_tracking({});
  EXPECT_EQ(m.frames, 0);
  EXPECT_EQ(m.truth_boxes, 0);
  EXPECT_EQ(m.cuts, 0);
}

}  // namespace
}  // namespace hesp

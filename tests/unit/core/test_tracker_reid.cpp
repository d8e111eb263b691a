// SPDX-License-Identifier: LGPL-2.1-or-later
// Re-identification by appearance (TrackerConfig::reid_max_distance): synthetic detections whose
// embeddings stand in for face descriptors. Each case runs with re-identification off as well, so
// that it shows what re-identification changes.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "hesp/error.h"
#include "hesp/tracker.h"

namespace {

constexpr hesp::TrackerKind kKinds[] = {hesp::TrackerKind::kIou, hesp::TrackerKind::kSort,
                                        hesp::TrackerKind::kByteTrack};

// Person k's descriptor as the network might see it on one frame: unit axis k, tilted by `wobble`
// towards axis 100 + k (pose and light change). Two people lie sqrt(2) apart, far beyond 0.6; the
// same person at wobbles 0 and 0.3 lies 0.3 apart.
std::vector<float> person(int k, float wobble = 0.f) {
  std::vector<float> e(128, 0.f);
  e[static_cast<size_t>(k)] = std::cos(wobble);
  e[static_cast<size_t>(100 + k)] = std::sin(wobble);
  return e;
}

hesp::Detection face(float x, float y, std::vector<float> embedding, float confidence = 0.9f) {
  return hesp::Detection{hesp::Box{x, y, 60.f, 60.f}, confidence, std::move(embedding)};
}

hesp::TrackerConfig config(bool reid, int memory = 100) {
  hesp::TrackerConfig c;
  c.timeout_frames = 15;
  c.high_confidence = 0.5f;
  c.low_confidence = 0.1f;
  if (reid) {
    c.reid_max_distance = 0.6f;
    c.reid_memory_frames = memory;
    c.min_appearance_similarity = hesp::similarity_at_distance(0.6f);
  }
  return c;
}

// The ids of the tracks matched on this frame.
std::set<std::uint32_t> matched_ids(const hesp::Tracker& tracker) {
  std::set<std::uint32_t> ids;
  for (const auto& t : tracker.tracks())
    if (t.frames_since_seen == 0) ids.insert(t.id);
  return ids;
}

// Person 0 seen for 10 frames at (100, 100), then not detected for `gap` frames, then seen at
// (x, 100). Returns (id before, id after).
std::pair<std::uint32_t, std::uint32_t> hidden_then_back(hesp::Tracker& tracker, int gap, float x,
                                                         int who_comes_back = 0) {
  for (int f = 0; f < 10; ++f) tracker.update({face(100, 100, person(0, 0.05f * f))});
  const std::uint32_t before = tracker.tracks().at(0).id;
  for (int f = 0; f < gap; ++f) tracker.update({});
  tracker.update({face(x, 100, person(who_comes_back, 0.3f))});
  const auto ids = matched_ids(tracker);
  EXPECT_EQ(ids.size(), 1u);
  return {before, ids.empty() ? 0u : *ids.begin()};
}

TEST(TrackerReid, DistanceOfUnitEmbeddings) {
  EXPECT_NEAR(hesp::embedding_distance(person(0), person(1)), std::sqrt(2.f), 1e-5f);
  EXPECT_NEAR(hesp::embedding_distance(person(0), person(0, 0.3f)), 2.f * std::sin(0.15f), 1e-5f);
  // Scale does not matter, and missing or mismatched embeddings are no evidence at all.
  std::vector<float> twice = person(2);
  for (float& v : twice) v *= 2.f;
  EXPECT_NEAR(hesp::embedding_distance(person(2), twice), 0.f, 1e-3f);
  EXPECT_EQ(hesp::embedding_distance({}, person(0)), -1.f);
  EXPECT_EQ(hesp::embedding_distance({1.f, 0.f}, person(0)), -1.f);
  // face-api's 0.6 between unit vectors is a cosine similarity of 0.82.
  EXPECT_FLOAT_EQ(hesp::similarity_at_distance(0.6f), 0.82f);
  EXPECT_FLOAT_EQ(hesp::similarity_at_distance(0.f), 1.f);
}

TEST(TrackerReid, MissedFaceFarAwayKeepsItsIdWithinTheTimeout) {
  // The detector misses the face for 5 frames while the camera swings: it comes back 300 px away,
  // where no box overlaps.
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto with = hesp::make_tracker(kind, config(true));
    const auto [before, after] = hidden_then_back(*with, 5, 400.f);
    EXPECT_EQ(after, before);
    EXPECT_EQ(with->tracks().size(), 1u) << "no second track for the same face";
    EXPECT_FLOAT_EQ(with->tracks().at(0).box.x, 400.f) << "the box jumps to the face";

    auto without = hesp::make_tracker(kind, config(false));
    const auto [b, a] = hidden_then_back(*without, 5, 400.f);
    EXPECT_NE(a, b) << "without re-identification the boxes decide";
  }
}

TEST(TrackerReid, OccludedFaceKeepsItsIdPastTheTimeout) {
  // Hidden for 40 frames (timeout 15): remembered as lost, then found again where it was.
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto with = hesp::make_tracker(kind, config(true));
    for (int f = 0; f < 10; ++f) with->update({face(100, 100, person(0))});
    const auto id = with->tracks().at(0).id;
    for (int f = 0; f < 40; ++f) {
      with->update({});
      ASSERT_EQ(with->tracks().size(), 1u) << "frame " << f;
      EXPECT_EQ(with->tracks()[0].lost, f + 1 > 15) << "frame " << f;
    }
    with->update({face(110, 100, person(0, 0.3f))});
    ASSERT_EQ(with->tracks().size(), 1u);
    EXPECT_EQ(with->tracks()[0].id, id);
    EXPECT_FALSE(with->tracks()[0].lost);
    EXPECT_EQ(with->tracks()[0].frames_since_seen, 0);

    auto without = hesp::make_tracker(kind, config(false));
    const auto [b, a] = hidden_then_back(*without, 40, 110.f);
    EXPECT_NE(a, b);
  }
}

TEST(TrackerReid, MemoryRunsOut) {
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto tracker = hesp::make_tracker(kind, config(true, 30));
    const auto [before, after] = hidden_then_back(*tracker, 31, 100.f);
    EXPECT_NE(after, before) << "31 frames unseen is past a memory of 30";
    auto in_time = hesp::make_tracker(kind, config(true, 30));
    const auto [b, a] = hidden_then_back(*in_time, 30, 100.f);
    EXPECT_EQ(a, b);
  }
}

TEST(TrackerReid, AnotherPersonDoesNotTakeTheId) {
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    // Far away, after a miss and after an occlusion past the timeout.
    for (auto [gap, x] : {std::pair{5, 400.f}, std::pair{40, 400.f}, std::pair{40, 100.f}}) {
      SCOPED_TRACE("gap " + std::to_string(gap) + " x " + std::to_string(x));
      auto tracker = hesp::make_tracker(kind, config(true));
      const auto [before, after] = hidden_then_back(*tracker, gap, x, 1);
      EXPECT_NE(after, before);
    }
  }
}

TEST(TrackerReid, GateKeepsAnotherPersonOffTheTrack) {
  // Person 1 steps into person 0's place on the next detection: the boxes overlap fully, the
  // descriptors do not, so person 1 gets a track of its own and person 0's waits.
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto tracker = hesp::make_tracker(kind, config(true));
    tracker->update({face(100, 100, person(0))});
    const auto id0 = tracker->tracks().at(0).id;
    tracker->update({face(100, 100, person(1))});
    ASSERT_EQ(tracker->tracks().size(), 2u);
    const auto ids = matched_ids(*tracker);
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_NE(*ids.begin(), id0);
    // Person 0 comes back beside person 1 and gets its id back.
    tracker->update({face(100, 100, person(1)), face(300, 100, person(0, 0.2f))});
    std::uint32_t back = 0;
    for (const auto& t : tracker->tracks()) {
      if (t.detection_index == 1) back = t.id;
    }
    EXPECT_EQ(back, id0);

    auto without = hesp::make_tracker(kind, config(false));
    without->update({face(100, 100, person(0))});
    without->update({face(100, 100, person(1))});
    EXPECT_EQ(without->tracks().size(), 1u) << "without the gate the id jumps to person 1";
  }
}

TEST(TrackerReid, TwoHiddenFacesEachGetTheirOwnIdBack) {
  // Two people hidden at once come back in swapped places: each takes the id that looks like it.
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto tracker = hesp::make_tracker(kind, config(true));
    tracker->update({face(100, 100, person(0)), face(400, 100, person(1))});
    std::uint32_t id0 = 0, id1 = 0;
    for (const auto& t : tracker->tracks()) (t.detection_index == 0 ? id0 : id1) = t.id;
    for (int f = 0; f < 20; ++f) tracker->update({});
    tracker->update({face(100, 100, person(1, 0.25f)), face(400, 100, person(0, 0.25f))});
    ASSERT_EQ(tracker->tracks().size(), 2u);
    for (const auto& t : tracker->tracks())
      EXPECT_EQ(t.id, t.detection_index == 0 ? id1 : id0) << "detection " << t.detection_index;
  }
}

TEST(TrackerReid, NothingCrossesEndAll) {
  // A shot cut ends every track, lost ones too: the same face after it is a new track.
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto tracker = hesp::make_tracker(kind, config(true));
    tracker->update({face(100, 100, person(0)), face(300, 100, person(1))});
    for (int f = 0; f < 20; ++f) tracker->update({face(300, 100, person(1))});
    ASSERT_EQ(tracker->tracks().size(), 2u) << "person 0 is lost, still remembered";
    std::set<std::uint32_t> old;
    for (const auto& t : tracker->tracks()) old.insert(t.id);
    EXPECT_EQ(tracker->end_all().size(), 2u);
    EXPECT_TRUE(tracker->tracks().empty());
    tracker->update({face(100, 100, person(0)), face(300, 100, person(1))});
    for (const auto& t : tracker->tracks()) EXPECT_EQ(old.count(t.id), 0u) << t.id;
  }
}

TEST(TrackerReid, LostTracksAreNotMatchedByTheirBox) {
  // Past the timeout a track's box means nothing: a face without an embedding at the old place
  // starts a new track, and the lost one stays lost.
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto tracker = hesp::make_tracker(kind, config(true));
    tracker->update({face(100, 100, person(0))});
    const auto id = tracker->tracks().at(0).id;
    for (int f = 0; f < 20; ++f) tracker->update({});
    tracker->update({face(100, 100, {})});
    ASSERT_EQ(tracker->tracks().size(), 2u);
    for (const auto& t : tracker->tracks()) EXPECT_EQ(t.lost, t.id == id);
  }
}

TEST(TrackerReid, TracksWithoutEmbeddingsAreNotRemembered) {
  for (auto kind : kKinds) {
    SCOPED_TRACE(hesp::tracker_kind_name(kind));
    auto tracker = hesp::make_tracker(kind, config(true));
    tracker->update({face(100, 100, {})});
    for (int f = 0; f < 16; ++f) tracker->update({});
    EXPECT_TRUE(tracker->tracks().empty()) << "nothing could ever re-identify it";
  }
}

TEST(TrackerReid, WeakDetectionsDoNotReidentify) {
  // ByteTrack's weak detections are mostly background: they may continue a track by its box,
  // never by appearance alone.
  auto tracker = hesp::make_tracker(hesp::TrackerKind::kByteTrack, config(true));
  tracker->update({face(100, 100, person(0))});
  for (int f = 0; f < 5; ++f) tracker->update({});
  tracker->update({face(400, 100, person(0), 0.2f)});
  ASSERT_EQ(tracker->tracks().size(), 1u);
  EXPECT_EQ(tracker->tracks()[0].frames_since_seen, 6);
}

TEST(TrackerReid, BadSettingsAreRefused) {
  auto c = config(true);
  c.reid_max_distance = 2.5f;
  EXPECT_THROW(hesp::make_tracker(hesp::TrackerKind::kSort, c), hesp::SettingsError);
  c.reid_max_distance = -0.1f;
  EXPECT_THROW(hesp::make_tracker(hesp::TrackerKind::kSort, c), hesp::SettingsError);
  c = config(true);
  c.reid_memory_frames = -1;
  EXPECT_THROW(hesp::make_tracker(hesp::TrackerKind::kIou, c), hesp::SettingsError);
}

}  // namespace

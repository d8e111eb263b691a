// SPDX-License-Identifier: LGPL-2.1-or-later
// hespinfer with the default pack: results on every face frame, smiling faces are happy,
// batch-size independence, end-of-stream clips, label-change messages, and bad packs.
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gsthespclipmeta.h"
#include "hesp/model_pack.h"
#include "hesp/pan_zoom.h"
#include "pipeline_runner.h"
#include "test_data.h"

namespace {

using hesp::test::RoiRecord;

std::string default_pack() {
  return hesp::test::cache_path("models/faceapi-expression.safetensors");
}

// The camera move over sample3 (three women; the middle and the right one smile broadly).
// The chain on a pan across a demo photo. Full clips only unless clip_props says otherwise.
std::vector<std::vector<RoiRecord>> run_chain(
    const std::string& infer_props, int n_frames = 40,
    const std::string& clip_props = "first-clip-frames=0") {
  hesp::PanZoomPath path{0.50f, 0.30f, 0.95f, 0.53f, 0.32f, 0.80f};
  hesp::PanZoomSequence seq(hesp::test::demo_photo(3), 640, 360, n_frames, path);
  const std::string chain =
      "hespfacecrop min-face-size=60 ! hespclipbatch crop-size=112 margin=0.2 clip-length=8 "
      "clip-stride=4 " +
      clip_props + " ! hespinfer schedule=sync model=\"" + default_pack() + "\" " + infer_props;
  GstHarness* h = gst_harness_new_parse(chain.c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=640,height=360,framerate=25/1");
  std::vector<std::uint8_t> rgb(640 * 360 * 3);
  for (int i = 0; i < n_frames; ++i) {
    seq.render(i, rgb.data());
    GstBuffer* b = gst_buffer_new_memdup(rgb.data(), rgb.size());
    GST_BUFFER_PTS(b) = i * GST_SECOND / 25;
    EXPECT_EQ(gst_harness_push(h, b), GST_FLOW_OK);
  }
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  std::vector<std::vector<RoiRecord>> frames;
  while (GstBuffer* out = gst_harness_try_pull(h)) {
    frames.push_back(hesp::test::rois_of(out));
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
  return frames;
}

class HespInfer : public ::testing::Test {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(default_pack());
    HESP_REQUIRE_FILE(hesp::test::demo_photo(3));
  }
};

TEST_F(HespInfer, EveryFaceFrameAfterTheFirstClipCarriesAResult) {
  auto frames = run_chain("");
  ASSERT_EQ(frames.size(), 40u);
  // Per track: the frame on which it is present for the 8th time, and its first result.
  std::map<int, int> seen_count, eighth_frame, first_result;
  for (size_t i = 0; i < frames.size(); ++i) {
    for (const auto& r : frames[i]) {
      if (++seen_count[r.id] == 8) eighth_frame[r.id] = static_cast<int>(i);
      if (r.has_expression && !first_result.count(r.id)) first_result[r.id] = static_cast<int>(i);
      if (first_result.count(r.id)) {
        EXPECT_TRUE(r.has_expression) << "track " << r.id << " lost its result on frame " << i;
        EXPECT_LE(r.clip_end, i * GST_SECOND / 25) << "a result from the future";
      }
    }
  }
  int tracks_with_results = 0;
  for (auto [id, frame] : first_result) {
    ++tracks_with_results;
    // The first clip of a track completes on its 8th frame (every frame is sampled).
    ASSERT_TRUE(eighth_frame.count(id)) << "track " << id;
    EXPECT_EQ(frame, eighth_frame[id]) << "track " << id;
  }
  EXPECT_GE(tracks_with_results, 3);
}

TEST_F(HespInfer, EarlyFirstClipLabelsAFaceOnTheFrameItAppears) {
  auto frames = run_chain("", 40, "first-clip-frames=1");
  std::map<int, int> first_seen, first_result;
  for (size_t i = 0; i < frames.size(); ++i)
    for (const auto& r : frames[i]) {
      if (!first_seen.count(r.id)) first_seen[r.id] = static_cast<int>(i);
      if (r.has_expression && !first_result.count(r.id)) first_result[r.id] = static_cast<int>(i);
    }
  ASSERT_GE(first_result.size(), 3u);
  for (auto [id, frame] : first_result) EXPECT_EQ(frame, first_seen[id]) << "track " << id;
}

TEST_F(HespInfer, SmilingFacesAreHappy) {
  auto frames = run_chain("");
  // Last frame: the three faces from left to right; the middle and right women smile with teeth.
  std::vector<RoiRecord> faces;
  for (const auto& r : frames.back())
    if (r.has_expression && r.w >= 60) faces.push_back(r);
  ASSERT_GE(faces.size(), 3u);
  std::sort(faces.begin(), faces.end(), [](auto& a, auto& b) { return a.x < b.x; });
  const RoiRecord& middle = faces[faces.size() - 2];
  const RoiRecord& right = faces.back();
  EXPECT_EQ(middle.label, "happy") << "confidence " << middle.confidence;
  EXPECT_EQ(right.label, "happy") << "confidence " << right.confidence;
  EXPECT_GT(right.confidence, 0.5);
}

TEST_F(HespInfer, ResultsDoNotDependOnBatchSize) {
  auto one = run_chain("batch-size=1");
  auto batched = run_chain("batch-size=3 max-batch-frames=12");
  ASSERT_EQ(one.size(), batched.size());
  size_t compared = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].size(), batched[i].size()) << "frame " << i;
    for (size_t k = 0; k < one[i].size(); ++k) {
      const auto &a = one[i][k], &b = batched[i][k];
      ASSERT_EQ(a.has_expression, b.has_expression) << "frame " << i;
      if (!a.has_expression) continue;
      EXPECT_EQ(a.label, b.label);
      EXPECT_NEAR(a.confidence, b.confidence, 1e-5);
      EXPECT_NEAR(a.open_set_score, b.open_set_score, 1e-5);
      EXPECT_EQ(a.clip_end, b.clip_end);
      ++compared;
    }
  }
  EXPECT_GT(compared, 40u);
}

// hespclipbatch's clips of one track, 8 frames every 4, as metas and as an end-of-stream
// "hesp-clip" event: hespinfer hands each clip's first_index to the model, whose frame-subsample
// takes frames on the track's grid, so the frame cache encodes one frame per 8 track frames.
TEST_F(HespInfer, FrameSubsampleFollowsTheClipsFirstIndex) {
  constexpr GstClockTime kFrame = GST_SECOND / 25;
  GstHarness* h = gst_harness_new_parse(("hespinfer name=infer schedule=sync frame-subsample=8 "
                                         "frame-cache=64 model=\"" +
                                         default_pack() + "\"")
                                            .c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=25/1");
  std::vector<std::uint8_t> bytes(8 * 112 * 112 * 3);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 / 5);
  GBytes* frames = g_bytes_new(bytes.data(), bytes.size());
  auto clip_pts = [&](guint64 start) {
    std::vector<GstClockTime> pts(8);
    for (guint64 f = 0; f < 8; ++f) pts[f] = (start + f) * kFrame;
    return pts;
  };
  // Clips of track frames 0..7, 4..11, ..., 20..27: the grid frames 0, 8, 16, 24. Counted from
  // each clip's start they would be 0, 4, ..., 20.
  for (guint64 start = 0; start <= 20; start += 4) {
    GstBuffer* b = gst_buffer_new_allocate(nullptr, 64 * 48 * 3, nullptr);
    GST_BUFFER_PTS(b) = (start + 7) * kFrame;
    const auto pts = clip_pts(start);
    ASSERT_NE(gst_buffer_add_hesp_clip_meta(b, 1, -1, 8, 8, 112, frames, pts.data(), start),
              nullptr);
    ASSERT_EQ(gst_harness_push(h, b), GST_FLOW_OK);
  }
  // A partial clip at the end of the stream from track frame 20 on: grid frame 24 (cached); taken
  // from its own start it would be frame 20, not encoded before.
  {
    const auto pts = clip_pts(20);
    ASSERT_TRUE(
        gst_harness_push_event(h, gst_hesp_clip_event_new(1, 8, 5, 112, frames, pts.data(), 20)));
  }
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  GstElement* infer = gst_bin_get_by_name(GST_BIN(h->element), "infer");
  ASSERT_NE(infer, nullptr);
  GstStructure* stats = nullptr;
  g_object_get(infer, "stats", &stats, nullptr);
  ASSERT_NE(stats, nullptr);
  guint64 run = 0, encoded = 0;
  EXPECT_TRUE(gst_structure_get_uint64(stats, "clips-run", &run));
  EXPECT_TRUE(gst_structure_get_uint64(stats, "frames-encoded", &encoded));
  EXPECT_EQ(run, 7u);
  EXPECT_EQ(encoded, 4u) << "frames 0, 8, 16 and 24 of the track, each once";
  gst_structure_free(stats);
  gst_object_unref(infer);
  g_bytes_unref(frames);
  gst_harness_teardown(h);
}

TEST_F(HespInfer, LabelChangesArePostedIncludingEndOfStreamClips) {
  HESP_REQUIRE_FILE(hesp::test::kphotoalbum_movie());
  auto run = hesp::test::run_on_movie(
      "hespfacecrop ! "
      "hespclipbatch crop-size=112 margin=0.2 min-frames=1 ! "
      "hespinfer post-messages=true model=\"" +
      default_pack() + "\" ! appsink name=sink");
  ASSERT_EQ(run.error, "");
  std::vector<std::string> changes;
  for (const auto& m : run.element_messages)
    if (m.rfind("hesp-expression-changed", 0) == 0) changes.push_back(m);
  ASSERT_FALSE(changes.empty());
  EXPECT_NE(changes[0].find("track-id=(uint)1"), std::string::npos) << changes[0];
  EXPECT_NE(changes[0].find("previous-label=(string)\"\""), std::string::npos) << changes[0];
}

void expect_error(const std::string& infer_props, const std::string& must_contain, GQuark domain,
                  gint code) {
  auto run = hesp::test::run_pipeline(
      "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 ! hespinfer " + infer_props +
      " ! fakesink");
  ASSERT_NE(run.error, "") << infer_props;
  EXPECT_NE(run.error.find(must_contain), std::string::npos) << run.error;
  EXPECT_EQ(run.error_domain, domain) << run.error;
  EXPECT_EQ(run.error_code, code) << run.error;
}

TEST(HespInferErrors, MissingPackIsNamed) {
  expect_error("model=/nonexistent/pack.safetensors", "/nonexistent/pack.safetensors",
               GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
}

TEST(HespInferErrors, TruncatedPackIsNamed) {
  HESP_REQUIRE_FILE(default_pack());
  const std::string path = ::testing::TempDir() + "truncated.safetensors";
  {
    std::ifstream in(default_pack(), std::ios::binary);
    std::string head(4096, '\0');
    in.read(&head[0], head.size());
    std::ofstream(path, std::ios::binary) << head;
  }
  expect_error("model=" + path, path, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ);
}

TEST(HespInferErrors, WrongKindPackIsNamed) {
  HESP_REQUIRE_FILE(default_pack());
  // A valid pack whose manifest says it is a model kind this build cannot run.
  hesp::ModelPack real = hesp::ModelPack::open(default_pack());
  nlohmann::json manifest = real.manifest();
  manifest["kind"] = "speech-recognizer";
  const std::string path = ::testing::TempDir() + "wrong_kind.safetensors";
  hesp::write_pack(path, manifest, real.tensors());
  expect_error("model=" + path, "speech-recognizer", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS);
}

TEST(HespInferErrors, CudaWithoutGpuIsASettingsError) {
  HESP_REQUIRE_FILE(default_pack());
  auto run = hesp::test::run_pipeline(
      "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 ! hespinfer device=cuda ! "
      "fakesink");
  if (run.error.empty()) GTEST_SKIP() << "a CUDA device is available here";
  EXPECT_NE(run.error.find("CUDA"), std::string::npos) << run.error;
  EXPECT_EQ(run.error_domain, GST_LIBRARY_ERROR);
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
// hespinfer running a clip-zeroshot pack (converted here from the tiny random-weight CLIP
// checkpoint) on the real face video: results have the right structure, runs repeat exactly,
// batching does not change them, extra-classes adds classes. The weights are random, so nothing
// here is about accuracy.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "hesp/expression_model.h"
#include "hesp/pack_converters.h"
#include "pipeline_runner.h"
#include "test_data.h"

namespace {

using hesp::test::RoiRecord;

std::string tiny_checkpoint() {
  return hesp::test::shared_path("clip/tiny-openai-format/clip_openai_format.pt");
}
std::string clip_vocab() { return hesp::test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }

const std::vector<std::string> kClasses = {"happy", "sad", "surprised"};

std::string zeroshot_pack() {
  static const std::string path = [] {
    hesp::ClipZeroShotConvertOptions o;
    o.checkpoint = tiny_checkpoint();
    o.vocab_path = clip_vocab();
    o.classes = kClasses;
    o.output_path =
        ::testing::TempDir() + "tiny-zeroshot-" + std::to_string(::getpid()) + ".safetensors";
    hesp::convert_openai_clip(o);
    return o.output_path;
  }();
  return path;
}

// Every frame's face ROIs after hespinfer with the given extra properties.
std::vector<std::vector<RoiRecord>> run_movie(const std::string& infer_props) {
  auto run = hesp::test::run_on_movie(
      "hespfacecrop ! hespclipbatch crop-size=64 margin=0.1 "
      "min-frames=1 ! hespinfer model=\"" +
      zeroshot_pack() + "\" " + infer_props + " ! appsink name=sink");
  EXPECT_EQ(run.error, "") << run.error_debug;
  std::vector<std::vector<RoiRecord>> frames;
  for (const auto& f : run.frames) frames.push_back(f.faces);
  return frames;
}

class HespInferZeroShot : public ::testing::Test {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(tiny_checkpoint());
    HESP_REQUIRE_FILE(clip_vocab());
    HESP_REQUIRE_FILE(hesp::test::kphotoalbum_movie());
  }
};

// Checks the results of one run and returns how many there were.
int check_structure(const std::vector<std::vector<RoiRecord>>& frames,
                    const std::vector<std::string>& classes, double threshold) {
  const std::set<std::string> known(classes.begin(), classes.end());
  int results = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    for (const auto& r : frames[i]) {
      if (!r.has_expression) continue;
      ++results;
      EXPECT_EQ(bool(r.is_unknown), r.open_set_score < threshold) << "frame " << i;
      if (r.is_unknown) {
        EXPECT_EQ(r.label, "unknown");
        EXPECT_EQ(r.label_id, -1);
      } else {
        EXPECT_TRUE(known.count(r.label)) << r.label;
        const bool in_range = r.label_id >= 0 && r.label_id < static_cast<int>(classes.size());
        EXPECT_TRUE(in_range) << "label id " << r.label_id;
        if (in_range) {
          EXPECT_EQ(classes[r.label_id], r.label);
        }
      }
      // The confidence is the top softmax probability over the known classes.
      EXPECT_GE(r.confidence, 1.0 / classes.size() - 1e-9);
      EXPECT_LE(r.confidence, 1.0 + 1e-9);
    }
  }
  return results;
}

TEST_F(HespInferZeroShot, ResultsAreWellFormedRepeatableAndIndependentOfBatching) {
  auto model = hesp::ExpressionModel::load(zeroshot_pack());
  const double threshold = model->default_unknown_threshold();
  const auto one = run_movie("batch-size=1");
  const auto again = run_movie("batch-size=1");
  const auto batched = run_movie("batch-size=4 max-batch-frames=40");
  ASSERT_FALSE(one.empty());
  EXPECT_GT(check_structure(one, kClasses, threshold), 10);
  ASSERT_EQ(one.size(), again.size());
  ASSERT_EQ(one.size(), batched.size());
  std::size_t compared = 0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].size(), again[i].size()) << "frame " << i;
    ASSERT_EQ(one[i].size(), batched[i].size()) << "frame " << i;
    for (std::size_t k = 0; k < one[i].size(); ++k) {
      const RoiRecord &a = one[i][k], &b = again[i][k], &c = batched[i][k];
      ASSERT_EQ(a.has_expression, b.has_expression) << "frame " << i;
      ASSERT_EQ(a.has_expression, c.has_expression) << "frame " << i;
      if (!a.has_expression) continue;
      // Same process, same inputs, same batches: the same numbers.
      EXPECT_EQ(a.label, b.label);
      EXPECT_EQ(a.confidence, b.confidence);
      EXPECT_EQ(a.open_set_score, b.open_set_score);
      // Other batches: the same result within float rounding of the batched matrix products.
      EXPECT_EQ(a.label, c.label) << "frame " << i;
      EXPECT_NEAR(a.confidence, c.confidence, 1e-5) << "frame " << i;
      EXPECT_NEAR(a.open_set_score, c.open_set_score, 1e-4) << "frame " << i;
      EXPECT_EQ(a.clip_end, c.clip_end);
      ++compared;
    }
  }
  EXPECT_GT(compared, 10u);
}

TEST_F(HespInferZeroShot, ExtraClassesJoinTheKnownClasses) {
  const auto frames = run_movie("extra-classes=\"bored, confused\" unknown-threshold=-1000");
  std::vector<std::string> all = kClasses;
  all.push_back("bored");
  all.push_back("confused");
  EXPECT_GT(check_structure(frames, all, -1000), 10);
  // A label id past the pack's own classes must name one of the extra ones.
  bool seen_result = false;
  for (const auto& f : frames)
    for (const auto& r : f)
      if (r.has_expression) {
        seen_result = true;
        EXPECT_FALSE(r.is_unknown);  // the threshold is far below any max logit
        if (r.label_id >= 3) {
          EXPECT_TRUE(r.label == "bored" || r.label == "confused") << r.label;
        }
      }
  EXPECT_TRUE(seen_result);
}

TEST_F(HespInferZeroShot, ExtraClassesPropertyRoundTrips) {
  GstElement* e = gst_element_factory_make("hespinfer", nullptr);
  ASSERT_NE(e, nullptr);
  g_object_set(e, "extra-classes", "bored,confused", nullptr);
  gchar* v = nullptr;
  g_object_get(e, "extra-classes", &v, nullptr);
  EXPECT_STREQ(v, "bored,confused");
  g_free(v);
  gst_object_unref(e);
}

TEST_F(HespInferZeroShot, DuplicateExtraClassIsASettingsError) {
  auto run = hesp::test::run_pipeline(
      "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 "
      "! hespinfer model=\"" +
      zeroshot_pack() + "\" extra-classes=happy ! fakesink");
  ASSERT_NE(run.error, "");
  EXPECT_NE(run.error.find("happy"), std::string::npos) << run.error;
  EXPECT_EQ(run.error_domain, GST_LIBRARY_ERROR) << run.error;
  EXPECT_EQ(run.error_code, GST_LIBRARY_ERROR_SETTINGS) << run.error;
}

TEST(HespInferZeroShotErrors, FerCnnPackCannotAddClasses) {
  const std::string pack = hesp::test::cache_path("models/faceapi-expression.safetensors");
  HESP_REQUIRE_FILE(pack);
  auto run = hesp::test::run_pipeline(
      "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 "
      "! hespinfer model=\"" +
      pack + "\" extra-classes=bored ! fakesink");
  ASSERT_NE(run.error, "");
  EXPECT_NE(run.error.find("cannot add classes"), std::string::npos) << run.error;
}

}  // namespace

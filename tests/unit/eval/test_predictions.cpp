// SPDX-License-Identifier: LGPL-2.1-or-later
// Prediction files (reading, the errors a user sees, writing), the evaluation report over several
// runs and the plots.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "hesp/error.h"
#include "hesp/predictions.h"
#include "test_data.h"

namespace hesp::eval {
namespace {

namespace fs = std::filesystem;
constexpr double kTol = 1e-9;

std::string data(const std::string& name) { return test::source_path("tests/data/eval/" + name); }

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hesp-predictions-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

// ---- Reading ------------------------------------------------------------------------------------

TEST(ReadPredictions, CheckedInSplit) {
  HESP_REQUIRE_FILE(data("split1.json"));
  const PredictionSet s = read_predictions(data("split1.json"));
  EXPECT_EQ(s.name, "split1");
  EXPECT_EQ(s.source, data("split1.json"));
  EXPECT_EQ(s.classes, (std::vector<std::string>{"Angry", "Happy", "Sad"}));
  EXPECT_EQ(s.score_rule, ScoreRule::kMaxLogit);
  ASSERT_EQ(s.clips.size(), 7u);
  EXPECT_EQ(s.clips[1].id, "k1");
  EXPECT_EQ(s.clips[1].label, 1);
  EXPECT_NEAR(s.clips[1].open_set_score, 0.8, kTol);  // max logit
  EXPECT_EQ(s.clips[5].label, kUnknownLabel);
  EXPECT_EQ(s.clips[5].id, "u0");
}

TEST(ReadPredictions, LabelsByNameAndScoreRuleOverride) {
  HESP_REQUIRE_FILE(data("split2.json"));
  const PredictionSet s = read_predictions(data("split2.json"), ScoreRule::kMaxSoftmax);
  EXPECT_EQ(s.clips[1].label, 1);  // "Happy"
  EXPECT_EQ(s.clips[2].label, 2);  // "Sad"
  EXPECT_EQ(s.score_rule, ScoreRule::kMaxSoftmax);
  EXPECT_NEAR(s.clips[0].open_set_score, std::exp(2.) / (std::exp(2.) + 2.), kTol);
}

TEST_F(TempDir, GivenScoresAndNameFromFileStem) {
  const std::string path = write("run-7.json", R"({"classes": ["a", "b"],
    "known": [{"label": 0, "logits": [1, 0], "open_set_score": -3.5}],
    "unknown": [{"logits": [0, 1], "open_set_score": -7}]})");
  const PredictionSet s = read_predictions(path);
  EXPECT_EQ(s.name, "run-7");
  EXPECT_EQ(s.score_rule, ScoreRule::kGiven);  // implied: every clip has a score
  EXPECT_NEAR(s.clips[0].open_set_score, -3.5, kTol);
  EXPECT_NEAR(s.clips[1].open_set_score, -7., kTol);
  // A stated computed rule takes precedence over the stored scores.
  const PredictionSet m = read_predictions(path, ScoreRule::kMaxLogit);
  EXPECT_NEAR(m.clips[0].open_set_score, 1., kTol);
}

TEST_F(TempDir, ClosedSetFileHasNoUnknownList) {
  const PredictionSet s =
      read_predictions(write("c.json", R"({"classes": ["a"], "known": [{"label": 0,
      "logits": [2]}]})"));
  EXPECT_EQ(s.clips.size(), 1u);
  const RunEvaluation r = evaluate_run(s);
  EXPECT_FALSE(r.roc.has_value());
  EXPECT_FALSE(r.metrics.auroc.has_value());
  EXPECT_NEAR(r.metrics.acc, 100., kTol);
}

TEST(ReadPredictions, MissingFile) {
  EXPECT_THROW(read_predictions("/nonexistent/preds.json"), FileNotFoundError);
}

// Every malformed file gives a CorruptFileError whose text names the file and the problem.
TEST_F(TempDir, ErrorsNameTheFileAndTheClip) {
  const std::string head = R"({"classes": ["a", "b", "c"], )";
  struct Bad {
    const char* name;
    std::string text;
    std::string expected;
  };
  const Bad cases[] = {
      {"not-json", "{\"classes\": [\"a\",\n  oops", "not valid JSON"},
      {"not-json-line", "{\"classes\": [\"a\",\n  oops", "line 2"},
      {"array", "[1, 2]", "a prediction file is a JSON object"},
      {"no-classes", R"({"known": []})", "missing field 'classes'"},
      {"empty-classes", R"({"classes": [], "known": []})", "non-empty array"},
      {"duplicate-class", R"({"classes": ["a", "a"], "known": []})", "listed twice"},
      {"no-known", R"({"classes": ["a"]})", "missing field 'known'"},
      {"wrong-format", R"({"format": "other", "classes": ["a"], "known": []})", "'format'"},
      {"format-array", R"({"format": [1, 2], "classes": ["a"], "known": []})",
       "'format' is a JSON array, expected \"hesp-predictions\""},
      // Quoting this back used to recurse once per level and overflow the stack.
      {"format-nested",
       R"({"format": )" + std::string(300000, '[') + std::string(300000, ']') +
           R"(, "classes": ["a"], "known": []})",
       "'format' is a JSON array"},
      {"newer", R"({"version": 9, "classes": ["a"], "known": []})", "newer"},
      {"bad-rule", head + R"("score_rule": "msp", "known": []})", "unknown open-set score rule"},
      {"no-logits", head + R"("known": [{"label": 0}, {"clip": "x.mp4", "label": 1}]})",
       "known[0]: missing field 'logits'"},
      {"short-logits", head + R"("known": [{"label": 0, "logits": [1, 2, 3]},
                           {"clip": "x.mp4", "label": 1, "logits": [1, 2]}]})",
       "known[1] (clip 'x.mp4'): 'logits' has 2 values, expected 3"},
      {"string-logit", head + R"("known": [{"label": 0, "logits": [1, "2", 3]}]})",
       "known[0]: logits[1] is not a number"},
      {"label-range", head + R"("known": [{"label": 3, "logits": [1, 2, 3]}]})",
       "known[0]: label 3 is out of range 0..2"},
      {"label-name", head + R"("known": [{"label": "Fear", "logits": [1, 2, 3]}]})",
       "label 'Fear' is not one of the classes"},
      {"label-float", head + R"("known": [{"label": 1.5, "logits": [1, 2, 3]}]})",
       "'label' must be a class index"},
      {"no-label", head + R"("known": [{"logits": [1, 2, 3]}]})",
       "known[0]: missing field 'label'"},
      {"unknown-logits", head + R"("known": [{"label": 0, "logits": [1, 2, 3]}],
                 "unknown": [{"logits": [1, 2, 3]}, {"clip": "u.mp4", "logits": [1]}]})",
       "unknown[1] (clip 'u.mp4'): 'logits' has 1 values"},
      {"mixed-scores", head + R"("known": [{"label": 0, "logits": [1, 2, 3], "open_set_score": 1}],
                 "unknown": [{"clip": "u.mp4", "logits": [1, 2, 3]}]})",
       "unknown[0] (clip 'u.mp4') has no 'open_set_score'"},
      {"given-missing",
       head + R"("score_rule": "given", "known": [{"label": 0, "logits": [1, 2, 3]}]})",
       "known[0]: missing 'open_set_score'"},
      {"score-type", head + R"("known": [{"label": 0, "logits": [1, 2, 3],
                                          "open_set_score": "high"}]})",
       "'open_set_score' must be a finite number"},
      {"huge-logit", head + R"("known": [{"label": 0, "logits": [1, 1e999, 3]}]})",
       "number overflow parsing '1e999'"},
      {"clip-object", head + R"("known": [[1, 2, 3]]})", "known[0] must be an object"},
  };
  for (const Bad& b : cases) {
    const std::string path = write(std::string(b.name) + ".json", b.text);
    try {
      read_predictions(path);
      ADD_FAILURE() << b.name << ": accepted";
    } catch (const CorruptFileError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path), std::string::npos) << b.name << ": " << what;
      EXPECT_NE(what.find(b.expected), std::string::npos) << b.name << ": " << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << b.name << ": more than one line";
    }
  }
}

TEST_F(TempDir, FolderIsNotAPredictionFile) {
  EXPECT_THROW(read_predictions(dir_), CorruptFileError);
}

TEST_F(TempDir, EvaluationErrorsNameTheFile) {
  const std::string path = write("u.json", R"({"classes": ["a"], "known": [],
    "unknown": [{"logits": [1]}]})");
  try {
    evaluate_run(read_predictions(path));
    FAIL() << "a file without known clips evaluated";
  } catch (const InputError& e) {
    const std::string what = describe(e);
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("no known test clips"), std::string::npos) << what;
  }
}

// ---- Writing ------------------------------------------------------------------------------------

TEST_F(TempDir, WriteThenReadGivesTheSameSet) {
  PredictionSet s;
  s.name = "round trip";
  s.classes = {"x", "y"};
  s.score_rule = ScoreRule::kGiven;
  s.clips = {{"c0", 1, {0.1, 0.30000000000000004}, -1.25},
             {"", kUnknownLabel, {1e-300, -2.5}, 0.1 + 0.2}};
  const std::string path = dir_ + "/rt.json";
  write_predictions(s, path);
  const PredictionSet r = read_predictions(path);
  EXPECT_EQ(r.name, s.name);
  EXPECT_EQ(r.classes, s.classes);
  EXPECT_EQ(r.score_rule, ScoreRule::kGiven);
  ASSERT_EQ(r.clips.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r.clips[i].id, s.clips[i].id);
    EXPECT_EQ(r.clips[i].label, s.clips[i].label);
    EXPECT_EQ(r.clips[i].logits, s.clips[i].logits);  // bit for bit
    EXPECT_EQ(r.clips[i].open_set_score, s.clips[i].open_set_score);
  }
  EXPECT_THROW(write_predictions(s, dir_ + "/missing/folder/rt.json"), Error);
}

// ---- Report and plots ---------------------------------------------------------------------------

TEST(Report, MeanAndStandardDeviationOverRuns) {
  HESP_REQUIRE_FILE(data("split1.json"));
  const std::vector<RunEvaluation> runs = {evaluate_run(read_predictions(data("split1.json"))),
                                           evaluate_run(read_predictions(data("split2.json")))};
  const nlohmann::json r = evaluation_report(runs);
  EXPECT_EQ(r["format"], "hesp-eval-report");
  ASSERT_EQ(r["runs"].size(), 2u);
  EXPECT_NEAR(r["runs"][0]["metrics"]["acc"].get<double>(), 60., kTol);
  EXPECT_NEAR(r["runs"][1]["metrics"]["uar"].get<double>(), 250. / 3., kTol);
  EXPECT_NEAR(r["runs"][1]["metrics"]["oscr"].get<double>(), 68.75, kTol);
  EXPECT_NEAR(r["runs"][1]["class_recall"]["Happy"].get<double>(), 50., kTol);
  EXPECT_EQ(r["runs"][0]["confusion"]["rows"].back(), "unknown");
  EXPECT_EQ(r["runs"][0]["confusion"]["counts"][3],
            (std::vector<std::int64_t>{1, 1, 0}));  // unknown clips taken for Angry and Happy
  const nlohmann::json& s = r["summary"];
  EXPECT_EQ(s["runs"], 2);
  EXPECT_NEAR(s["acc"]["mean"].get<double>(), 67.5, kTol);
  EXPECT_NEAR(s["acc"]["std"].get<double>(), 15. / std::sqrt(2.), kTol);
  EXPECT_NEAR(s["auroc"]["mean"].get<double>(), 90., kTol);
  EXPECT_NEAR(s["auroc"]["std"].get<double>(), 20. / std::sqrt(2.), kTol);
  EXPECT_NEAR(s["oscr"]["mean"].get<double>(), 51.875, kTol);
}

TEST(Report, OneRunHasNoStandardDeviation) {
  HESP_REQUIRE_FILE(data("split1.json"));
  const nlohmann::json r = evaluation_report({evaluate_run(read_predictions(data("split1.json")))});
  EXPECT_NEAR(r["summary"]["oscr"]["mean"].get<double>(), 35., kTol);
  EXPECT_TRUE(r["summary"]["oscr"]["std"].is_null());
}

TEST_F(TempDir, ClosedSetRunsAreLeftOutOfOpenSetMeans) {
  HESP_REQUIRE_FILE(data("split1.json"));
  const std::string closed =
      write("closed.json", R"({"classes": ["a"], "known": [{"label": 0, "logits": [2]}]})");
  const std::vector<RunEvaluation> runs = {evaluate_run(read_predictions(data("split1.json"))),
                                           evaluate_run(read_predictions(closed))};
  const MetricSummary auroc = summarize(runs, "auroc");
  EXPECT_EQ(auroc.runs, 1u);
  EXPECT_NEAR(*auroc.mean, 80., kTol);
  EXPECT_EQ(summarize(runs, "acc").runs, 2u);
  EXPECT_NEAR(*summarize(runs, "acc").mean, 80., kTol);
  EXPECT_TRUE(evaluation_report(runs)["runs"][1]["metrics"]["auroc"].is_null());
  EXPECT_THROW(summarize(runs, "f1"), SettingsError);
}

TEST_F(TempDir, PlotsAreWrittenAndDecode) {
  HESP_REQUIRE_FILE(data("split1.json"));
  const std::vector<RunEvaluation> runs = {
      evaluate_run(read_predictions(data("split1.json")), 0.65),
      evaluate_run(read_predictions(data("split2.json")))};
  const std::string out = dir_ + "/plots/nested";
  const EvaluationPlots p = write_evaluation_plots(runs, out);
  EXPECT_EQ(p.roc, out + "/roc.png");
  EXPECT_EQ(p.oscr, out + "/oscr.png");
  ASSERT_EQ(p.confusion.size(), 2u);
  EXPECT_EQ(p.confusion[0], out + "/confusion-1-split1.png");
  for (const std::string& f : {p.roc, p.oscr, p.confusion[0], p.confusion[1]}) {
    const cv::Mat img = cv::imread(f);
    ASSERT_FALSE(img.empty()) << f;
    EXPECT_GE(img.cols, 300) << f;
    EXPECT_GE(img.rows, 300) << f;
    // Something was drawn: more than a few percent of the pixels are not white.
    cv::Mat white;
    cv::inRange(img, cv::Scalar(250, 250, 250), cv::Scalar(255, 255, 255), white);
    EXPECT_GT(img.total() - cv::countNonZero(white), img.total() / 50) << f;
  }
  // A closed-set run has no curves to draw.
  const std::string closed =
      write("closed.json", R"({"classes": ["a"], "known": [{"label": 0, "logits": [2]}]})");
  const EvaluationPlots c =
      write_evaluation_plots({evaluate_run(read_predictions(closed))}, dir_ + "/closed");
  EXPECT_TRUE(c.roc.empty());
  EXPECT_EQ(c.confusion, (std::vector<std::string>{dir_ + "/closed/confusion.png"}));
  EXPECT_TRUE(fs::exists(c.confusion[0]));
  // A file where the folder should be.
  EXPECT_THROW(write_evaluation_plots(runs, write("file", "x")), Error);
}

}  // namespace
}  // namespace hesp::eval

// SPDX-License-Identifier: LGPL-2.1-or-later
// Open-set metrics: small cases worked out by hand (ties and the reference's quirks included), the
// edge cases, and agreement with an independent numpy implementation on random score sets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "hesp/error.h"
#include "hesp/open_set_metrics.h"
#include "test_data.h"

namespace hesp::eval {
namespace {

constexpr double kTol = 1e-9;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// ---- AUROC --------------------------------------------------------------------------------------

TEST(Auroc, CountsPairsWhereKnownScoresHigher) {
  // Known above unknown in 5 of the 6 pairs (0.4 < 0.5 is the one miss).
  EXPECT_NEAR(auroc({0.9, 0.8, 0.4}, {0.5, 0.1}), 500. / 6., kTol);
}

TEST(Auroc, IsIndependentOfInputOrder) {
  EXPECT_NEAR(auroc({0.4, 0.9, 0.8}, {0.1, 0.5}), auroc({0.9, 0.8, 0.4}, {0.5, 0.1}), kTol);
}

TEST(Auroc, TiesCountAsNotSeparated) {
  // The reference removes the known score first on a tie, so a tie counts 0, not one half.
  EXPECT_NEAR(auroc({0.5}, {0.5}), 0., kTol);
  // Pairs: 1~1 tie, 1>0, 1~1 tie, 1>0, 2>1, 2>0: 4 of 6.
  EXPECT_NEAR(auroc({1., 1., 2.}, {1., 0.}), 400. / 6., kTol);
  EXPECT_NEAR(auroc({3., 3.}, {3., 3., 3.}), 0., kTol);
}

TEST(Auroc, PerfectAndReversedSeparation) {
  EXPECT_NEAR(auroc({2., 3., 4.}, {0., 1.}), 100., kTol);
  EXPECT_NEAR(auroc({0., 1.}, {2., 3., 4.}), 0., kTol);
}

TEST(Auroc, NoSeparationIsPositiveZero) {
  // A negative zero would be printed and reported as "-0.00".
  for (const double a : {auroc({0.5}, {0.5}), auroc({0., 1.}, {2., 3., 4.})}) {
    EXPECT_EQ(a, 0.);
    EXPECT_FALSE(std::signbit(a));
  }
}

TEST(Auroc, InfiniteScoresAreOrderedLikeAnyOther) {
  EXPECT_NEAR(auroc({kInf, 1.}, {-kInf, 0.}), 100., kTol);
}

TEST(Auroc, RejectsEmptySidesAndNaN) {
  EXPECT_THROW(auroc({}, {1.}), InputError);
  EXPECT_THROW(auroc({1.}, {}), InputError);
  try {
    auroc({1., kNaN}, {0.});
    FAIL() << "NaN accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("known score 1 is NaN"), std::string::npos) << e.what();
  }
  EXPECT_THROW(auroc({1.}, {kNaN}), InputError);
}

TEST(RocCurve, FollowsTheSweepWithItsEndpoints) {
  const RocCurve c = roc_curve({0.9, 0.8, 0.4}, {0.5, 0.1});
  // Sweep: reject 0.1 (u), 0.4 (k), 0.5 (u), 0.8 (k), 0.9 (k).
  const std::vector<double> tpr = {1., 1., 1., 2. / 3., 2. / 3., 1. / 3., 0., 0.};
  const std::vector<double> fpr = {1., 1., .5, .5, 0., 0., 0., 0.};
  ASSERT_EQ(c.tpr.size(), tpr.size());
  for (std::size_t i = 0; i < tpr.size(); ++i) {
    EXPECT_NEAR(c.tpr[i], tpr[i], kTol) << i;
    EXPECT_NEAR(c.fpr[i], fpr[i], kTol) << i;
  }
}

TEST(ThresholdSweep, RejectsKnownFirstOnTies) {
  const ThresholdSweep s = threshold_sweep({1., 2.}, {1.});
  EXPECT_EQ(s.tp, (std::vector<std::int64_t>{2, 1, 1, 0}));
  EXPECT_EQ(s.fp, (std::vector<std::int64_t>{1, 1, 0, 0}));
}

// ---- TNR at 95 % TPR ----------------------------------------------------------------------------

TEST(TnrAtTpr95, TakesTheFirstSweepPointAtTheNearestTpr) {
  // 20 known scores 1..20: TPR is exactly 95 % after the known score 1 goes. Unknown 0.5 has gone
  // by then, 1.5 and 2.5 go later at the same TPR; the first of those points counts: 3 of 4 unknown
  // still accepted, TNR 25 %.
  std::vector<double> known;
  for (int i = 1; i <= 20; ++i) known.push_back(i);
  EXPECT_NEAR(tnr_at_tpr95(known, {0.5, 1.5, 2.5, 30.}), 25., kTol);
}

TEST(TnrAtTpr95, IsZeroWithFewerThanTenKnownClips) {
  // With 9 known clips TPR 100 % (gap 5 %) is nearer to 95 % than 8/9 (gap 6.1 %), and its first
  // point accepts every unknown clip, however well they are separated.
  std::vector<double> known = {11, 12, 13, 14, 15, 16, 17, 18, 19};
  EXPECT_NEAR(tnr_at_tpr95(known, {0., 1., 2.}), 0., kTol);
  // With 10, 9/10 is (by a rounding hair) the nearest, and the separation shows.
  known.push_back(20);
  EXPECT_NEAR(tnr_at_tpr95(known, {0., 1., 2.}), 100., kTol);
}

// ---- OSCR ---------------------------------------------------------------------------------------

TEST(Oscr, HandComputedCase) {
  // Sorted: 0.1 u, 0.4 k+, 0.5 u, 0.8 k-, 0.9 k+. Points (FPR, CCR): (1, 2/3), (.5, 1/3),
  // (.5, 1/3), (0, 1/3), then (0, 0) twice and (1, 1): area .5 * .5 + .5 * 1/3 = 5/12.
  EXPECT_NEAR(oscr({0.9, 0.8, 0.4}, {true, false, true}, {0.5, 0.1}), 500. / 12., kTol);
}

TEST(Oscr, KeepsTheReferenceOffByOne) {
  // A perfect model (every known clip right and above every unknown one) would score 100 with the
  // textbook definition; the reference's off-by-one drops the lowest known clip from CCR at the
  // point where it should still count, which with 2 + 2 clips costs 12.5 points.
  EXPECT_NEAR(oscr({2., 3.}, {true, true}, {0., 1.}), 87.5, kTol);
  const OscrCurve c = oscr_curve({2., 3.}, {true, true}, {0., 1.});
  const std::vector<double> fpr = {1., 1., .5, 0., 0., 0.};
  const std::vector<double> ccr = {1., 1., 1., .5, 0., 0.};
  EXPECT_EQ(c.fpr, fpr);
  EXPECT_EQ(c.ccr, ccr);
}

TEST(Oscr, TiesKeepKnownBeforeUnknown) {
  // Known-then-unknown order on a tie gives 0; the other order would give 50.
  EXPECT_NEAR(oscr({0.5}, {true}, {0.5}), 0., kTol);
}

TEST(Oscr, WrongClassificationsCount) {
  EXPECT_NEAR(oscr({2., 3.}, {false, false}, {0., 1.}), 0., kTol);
  // The worked example of tests/data/eval/split1.json: 35.
  EXPECT_NEAR(oscr({0.9, 0.8, 0.4, 0.7, 0.6}, {true, false, true, false, true}, {0.6, 0.1}), 35.,
              kTol);
}

TEST(Oscr, RejectsBadInput) {
  EXPECT_THROW(oscr({}, {}, {1.}), InputError);
  EXPECT_THROW(oscr({1.}, {true}, {}), InputError);
  EXPECT_THROW(oscr({1., 2.}, {true}, {0.}), InputError);
  EXPECT_THROW(oscr({kNaN}, {true}, {0.}), InputError);
}

// ---- Closed set ---------------------------------------------------------------------------------

TEST(ClosedSet, AccuracyAndUar) {
  // Class 0: 2 of 2 right, class 1: 0 of 1, class 2: 1 of 2, class 3: no clips (left out of UAR).
  const std::vector<int> labels = {0, 0, 1, 2, 2};
  const std::vector<int> predicted = {0, 0, 0, 2, 1};
  EXPECT_NEAR(accuracy(predicted, labels), 60., kTol);
  EXPECT_NEAR(uar(predicted, labels, 4), 50., kTol);
}

TEST(ClosedSet, RejectsBadInput) {
  EXPECT_THROW(accuracy({}, {}), InputError);
  EXPECT_THROW(accuracy({0}, {0, 1}), InputError);
  EXPECT_THROW(uar({0}, {3}, 3), InputError);
  EXPECT_THROW(uar({0}, {-1}, 3), InputError);
}

TEST(PredictedClass, FirstMaximumWins) {
  EXPECT_EQ(predicted_class({0.1, 0.7, 0.7, 0.2}), 1);
  EXPECT_EQ(predicted_class({-3.}), 0);
  EXPECT_EQ(predicted_class({}), -1);
}

// ---- Score rules --------------------------------------------------------------------------------

TEST(ScoreRule, ComputesEachRule) {
  EXPECT_NEAR(open_set_score({0., 2., 1.}, ScoreRule::kMaxLogit), 2., kTol);
  const double z = std::exp(0.) + std::exp(2.) + std::exp(1.);
  EXPECT_NEAR(open_set_score({0., 2., 1.}, ScoreRule::kMaxSoftmax), std::exp(2.) / z, kTol);
  EXPECT_NEAR(open_set_score({0., 2., 1.}, ScoreRule::kEnergy), std::log(z), kTol);
  // Large logits must not overflow.
  EXPECT_NEAR(open_set_score({1000., 1000.}, ScoreRule::kEnergy), 1000. + std::log(2.), kTol);
  EXPECT_NEAR(open_set_score({1000., 1000.}, ScoreRule::kMaxSoftmax), 0.5, kTol);
  EXPECT_THROW(open_set_score({1.}, ScoreRule::kGiven), SettingsError);
  EXPECT_THROW(open_set_score({}, ScoreRule::kMaxLogit), InputError);
}

TEST(ScoreRule, NamesRoundTrip) {
  for (ScoreRule r :
       {ScoreRule::kMaxLogit, ScoreRule::kMaxSoftmax, ScoreRule::kEnergy, ScoreRule::kGiven})
    EXPECT_EQ(parse_score_rule(score_rule_name(r)), r);
  try {
    parse_score_rule("msp");
    FAIL() << "unknown rule accepted";
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("max_softmax"), std::string::npos) << e.what();
  }
}

// ---- Clip lists ---------------------------------------------------------------------------------

ClipPrediction clip(int label, std::vector<double> logits, std::string id = "") {
  ClipPrediction c;
  c.id = std::move(id);
  c.label = label;
  c.logits = std::move(logits);
  c.open_set_score = open_set_score(c.logits, ScoreRule::kMaxLogit);
  return c;
}

// The clips of tests/data/eval/split1.json.
std::vector<ClipPrediction> split1() {
  return {clip(0, {0.9, 0.1, 0.0}),
          clip(1, {0.8, 0.2, 0.3}),
          clip(2, {0.1, 0.2, 0.4}),
          clip(2, {0.2, 0.7, 0.0}),
          clip(0, {0.6, 0.0, 0.1}),
          clip(kUnknownLabel, {0.6, 0.2, 0.1}),
          clip(kUnknownLabel, {0.0, 0.1, -0.3})};
}

TEST(Evaluate, AllMetricsOfASmallTestSet) {
  const OpenSetMetrics m = evaluate(split1(), 3);
  EXPECT_EQ(m.num_known, 5u);
  EXPECT_EQ(m.num_unknown, 2u);
  EXPECT_NEAR(m.acc, 60., kTol);
  EXPECT_NEAR(m.war, 60., kTol);
  EXPECT_NEAR(m.uar, 50., kTol);  // Angry 2/2, Happy 0/1, Sad 1/2
  ASSERT_TRUE(m.auroc && m.oscr && m.tnr_at_tpr95);
  EXPECT_NEAR(*m.auroc, 80., kTol);  // the 0.6 tie counts as a miss: 8 of 10 pairs
  EXPECT_NEAR(*m.oscr, 35., kTol);
  EXPECT_NEAR(*m.tnr_at_tpr95, 0., kTol);
  ASSERT_EQ(m.class_recall.size(), 3u);
  EXPECT_NEAR(*m.class_recall[0], 100., kTol);
  EXPECT_NEAR(*m.class_recall[1], 0., kTol);
  EXPECT_NEAR(*m.class_recall[2], 50., kTol);
}

TEST(Evaluate, ClosedSetTestSetLeavesOpenSetMetricsEmpty) {
  const OpenSetMetrics m = evaluate({clip(0, {1., 0.}), clip(1, {1., 0.})}, 2);
  EXPECT_NEAR(m.acc, 50., kTol);
  EXPECT_FALSE(m.auroc.has_value());
  EXPECT_FALSE(m.oscr.has_value());
  EXPECT_FALSE(m.tnr_at_tpr95.has_value());
}

TEST(Evaluate, ClassWithoutClipsHasNoRecall) {
  const OpenSetMetrics m = evaluate({clip(0, {1., 0., 0.}), clip(2, {1., 0., 0.})}, 3);
  EXPECT_FALSE(m.class_recall[1].has_value());
  EXPECT_NEAR(m.uar, 50., kTol);
}

void expect_input_error(const std::vector<ClipPrediction>& clips, int k, const std::string& text) {
  try {
    evaluate(clips, k);
    FAIL() << "accepted; expected an error mentioning '" << text << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

TEST(Evaluate, RejectsBadClipLists) {
  expect_input_error({}, 3, "no test clips");
  expect_input_error({clip(kUnknownLabel, {1., 0.}), clip(kUnknownLabel, {0., 1.})}, 2,
                     "no known test clips");
  expect_input_error({clip(0, {1., 0.}), clip(1, {1., 0., 0.}, "b.mp4")}, 2,
                     "clip 1 (b.mp4) has 3 logits, expected 2");
  expect_input_error({clip(2, {1., 0.})}, 2, "clip 0: label 2 is outside 0..1");
  expect_input_error({clip(-2, {1., 0.})}, 2, "label -2");
  ClipPrediction nan_logit = clip(0, {1., 0.});
  nan_logit.logits[1] = kNaN;
  expect_input_error({nan_logit}, 2, "logit 1 is not a finite number");
  ClipPrediction nan_score = clip(0, {1., 0.});
  nan_score.open_set_score = kNaN;
  expect_input_error({clip(0, {1., 0.}), nan_score}, 2, "clip 1: open-set score is NaN");
  expect_input_error({clip(0, {1.})}, 0, "at least one known class");
}

TEST(ConfusionMatrix, CountsKnownAndUnknownRows) {
  const ConfusionMatrix m = confusion_matrix(split1(), 3);
  EXPECT_TRUE(m.unknown_row);
  EXPECT_FALSE(m.unknown_column);
  const std::vector<std::vector<std::int64_t>> expected = {
      {2, 0, 0}, {1, 0, 0}, {0, 1, 1}, {1, 1, 0}};
  EXPECT_EQ(m.counts, expected);
}

TEST(ConfusionMatrix, ThresholdAddsAnUnknownColumn) {
  // Scores below 0.65 are rejected: known 0.4 (Sad) and 0.6 (Angry), unknown 0.6 and 0.1.
  const ConfusionMatrix m = confusion_matrix(split1(), 3, 0.65);
  EXPECT_TRUE(m.unknown_column);
  const std::vector<std::vector<std::int64_t>> expected = {
      {1, 0, 0, 1}, {1, 0, 0, 0}, {0, 1, 0, 1}, {0, 0, 0, 2}};
  EXPECT_EQ(m.counts, expected);
  EXPECT_THROW(confusion_matrix(split1(), 3, kNaN), InputError);
}

TEST(ConfusionMatrix, NoUnknownRowWithoutUnknownClips) {
  const ConfusionMatrix m = confusion_matrix({clip(0, {1., 0.}), clip(1, {1., 0.})}, 2);
  EXPECT_FALSE(m.unknown_row);
  EXPECT_EQ(m.counts, (std::vector<std::vector<std::int64_t>>{{1, 0}, {1, 0}}));
}

// ---- Agreement with numpy -----------------------------------------------------------------------

struct Case {
  std::vector<double> known, unknown;
  std::vector<bool> correct;
  std::vector<int> predicted, labels;
  int num_classes = 0;
};

// Sizes from 1 (the smallest defined) to past 20 known clips (where TNR at 95 % stops being 0);
// continuous scores (no ties), coarse ones (many ties, across and within the two sides) and
// constant ones.
std::vector<Case> random_cases() {
  std::mt19937_64 rng(20240517);
  std::vector<Case> cases;
  for (int i = 0; i < 60; ++i) {
    Case c;
    std::uniform_int_distribution<int> size(1, i < 20 ? 8 : 70);
    const int nk = size(rng);
    const int nu = size(rng);
    c.num_classes = 1 + static_cast<int>(rng() % 6);
    std::normal_distribution<double> known_score(0.6, 1.);
    std::normal_distribution<double> unknown_score(0., 1.);
    const int kind = i % 3;
    auto draw = [&](std::normal_distribution<double>& d) {
      const double v = d(rng);
      if (kind == 1) return std::round(v * 2.) / 2.;  // steps of 0.5: plenty of ties
      if (kind == 2 && i % 2) return 1.;              // every score equal
      return v;
    };
    for (int k = 0; k < nk; ++k) {
      c.known.push_back(draw(known_score));
      c.labels.push_back(static_cast<int>(rng() % c.num_classes));
      c.predicted.push_back(rng() % 3 ? c.labels.back() : static_cast<int>(rng() % c.num_classes));
      c.correct.push_back(c.predicted.back() == c.labels.back());
    }
    for (int u = 0; u < nu; ++u) c.unknown.push_back(draw(unknown_score));
    cases.push_back(std::move(c));
  }
  return cases;
}

void expect_same_curve(const nlohmann::json& ref, const std::vector<double>& ours,
                       const std::string& what) {
  ASSERT_EQ(ref.size(), ours.size()) << what;
  for (std::size_t i = 0; i < ours.size(); ++i)
    ASSERT_NEAR(ref[i].get<double>(), ours[i], kTol) << what << " point " << i;
}

TEST(Reference, AgreesWithNumpyOnRandomScoreSets) {
  const std::string python = "/usr/bin/python3";
  if (access(python.c_str(), X_OK) != 0)
    GTEST_SKIP() << python << " is missing: cannot run the numpy reference";
  if (std::system((python + " -c 'import numpy' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "numpy is not installed for " << python << " (Debian: python3-numpy)";
  const std::string script = test::source_path("tests/unit/eval/reference_metrics.py");
  HESP_REQUIRE_FILE(script);

  const std::vector<Case> cases = random_cases();
  nlohmann::json in = {{"cases", nlohmann::json::array()}};
  for (const Case& c : cases) {
    std::vector<int> correct(c.correct.begin(), c.correct.end());
    in["cases"].push_back({{"known", c.known},
                           {"unknown", c.unknown},
                           {"correct", correct},
                           {"predicted", c.predicted},
                           {"labels", c.labels},
                           {"num_classes", c.num_classes}});
  }
  char dir_template[] = "/tmp/hesp-eval-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string in_path = dir + "/cases.json";
  const std::string out_path = dir + "/results.json";
  std::ofstream(in_path) << in.dump();
  const std::string cmd = python + " " + script + " " + in_path + " " + out_path;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  nlohmann::json out;
  std::ifstream(out_path) >> out;
  std::remove(in_path.c_str());
  std::remove(out_path.c_str());
  rmdir(dir.c_str());

  ASSERT_EQ(out["results"].size(), cases.size());
  int tnr_nonzero = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i) + ": " + std::to_string(cases[i].known.size()) +
                 " known, " + std::to_string(cases[i].unknown.size()) + " unknown");
    const Case& c = cases[i];
    const nlohmann::json& r = out["results"][i];
    EXPECT_NEAR(auroc(c.known, c.unknown), r["auroc"].get<double>(), kTol);
    EXPECT_NEAR(auroc(c.known, c.unknown), r["auroc_pairs"].get<double>(), kTol);
    const double tnr = tnr_at_tpr95(c.known, c.unknown);
    EXPECT_NEAR(tnr, r["tnr_at_tpr95"].get<double>(), kTol);
    tnr_nonzero += tnr > 0.;
    EXPECT_NEAR(oscr(c.known, c.correct, c.unknown), r["oscr"].get<double>(), kTol);
    EXPECT_NEAR(accuracy(c.predicted, c.labels), r["acc"].get<double>(), kTol);
    EXPECT_NEAR(uar(c.predicted, c.labels, c.num_classes), r["uar"].get<double>(), kTol);
    const RocCurve roc = roc_curve(c.known, c.unknown);
    expect_same_curve(r["roc_fpr"], roc.fpr, "ROC fpr");
    expect_same_curve(r["roc_tpr"], roc.tpr, "ROC tpr");
    const OscrCurve o = oscr_curve(c.known, c.correct, c.unknown);
    expect_same_curve(r["oscr_fpr"], o.fpr, "OSCR fpr");
    expect_same_curve(r["oscr_ccr"], o.ccr, "OSCR ccr");
  }
  // The comparison is only worth something if TNR was not 0 everywhere.
  EXPECT_GT(tnr_nonzero, 5);
}

}  // namespace
}  // namespace hesp::eval

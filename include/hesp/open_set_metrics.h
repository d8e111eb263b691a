// SPDX-License-Identifier: LGPL-2.1-or-later
// Metrics of open-set video facial expression recognition: closed-set accuracy on the known
// classes (ACC, UAR, WAR), separation of known from unknown clips by an open-set score (AUROC,
// TNR at 95 % TPR) and both at once (OSCR). The open-set numbers follow the evaluation code of
// ARPL, which HESP and most OV-FER papers reuse, step for step, including its tie rule and its
// off-by-one in OSCR, so that our numbers can be put next to published ones. docs/evaluation.md
// explains each metric and where the reference deviates from the textbook definition.
//
// Units: every metric is a percentage (0..100), as papers report them; curves are fractions
// (0..1). Higher open-set scores mean "more like a known class" throughout. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hesp::eval {

// The label of a test clip whose expression is none of the known classes.
inline constexpr int kUnknownLabel = -1;

// What a model said about one test clip. This is the unit every evaluation works on: a prediction
// file holds a list of them, and code that runs a model over a data set can build them directly.
struct ClipPrediction {
  std::string id;              // clip name for messages and reports; may be empty
  int label = kUnknownLabel;   // true class 0..K-1 for known clips, kUnknownLabel otherwise
  std::vector<double> logits;  // one score per known class; the prediction is their argmax
  double open_set_score = 0.;  // higher = more like a known class
};

// Index of the largest logit; the first one on a tie (as numpy's argmax). -1 when empty.
int predicted_class(const std::vector<double>& logits);

// How an open-set score is derived from the logits of a clip.
enum class ScoreRule {
  kMaxLogit,    // max_k l_k (HESP's rule: its ensemble logits are not normalised)
  kMaxSoftmax,  // max_k softmax(l)_k, the maximum softmax probability
  kEnergy,      // log sum_k exp(l_k), the negative free energy at temperature 1
  kGiven,       // the score was computed elsewhere and comes with the clip
};

// "max_logit", "max_softmax", "energy", "given".
const char* score_rule_name(ScoreRule rule);
// Throws SettingsError listing the valid names when `name` is none of them.
ScoreRule parse_score_rule(const std::string& name);
// The score of `logits` under `rule`. Throws SettingsError for kGiven (there is nothing to
// compute) and InputError for empty logits.
double open_set_score(const std::vector<double>& logits, ScoreRule rule);

// ---- Separation of known from unknown clips by their scores -----------------------------------
// All of these throw InputError when either list is empty (the rates divide by its size) or holds
// a NaN (it would make the order of the sweep undefined). Infinite scores are fine.

// The reference's threshold sweep: both lists sorted ascending, starting from "everything
// accepted" (tp = number of known, fp = number of unknown), each step rejects the lower of the two
// lowest remaining scores; on a tie the known one goes first. So a known clip tied with an unknown
// one counts as not separated from it. `tp` and `fp` have n_known + n_unknown + 1 entries.
struct ThresholdSweep {
  std::vector<std::int64_t> tp;  // known clips still accepted after each step
  std::vector<std::int64_t> fp;  // unknown clips still accepted after each step
};
ThresholdSweep threshold_sweep(const std::vector<double>& known,
                               const std::vector<double>& unknown);

// The ROC curve of that sweep, as the reference builds it for AUROC: tpr = [1, tp/n_known..., 0],
// fpr = [1, fp/n_unknown..., 0], from (1, 1) down to (0, 0).
struct RocCurve {
  std::vector<double> fpr;  // fraction of unknown clips accepted
  std::vector<double> tpr;  // fraction of known clips accepted
};
RocCurve roc_curve(const std::vector<double>& known, const std::vector<double>& unknown);

// Area under the ROC curve (-trapz(1 - fpr, tpr)), in percent: the probability that a known clip
// scores strictly higher than an unknown one. Ties count 0, not one half.
double auroc(const std::vector<double>& known, const std::vector<double>& unknown);

// True negative rate (unknown clips rejected) at the sweep point whose TPR is nearest to 95 %, in
// percent. As in the reference, the first such point in sweep order (the lowest threshold) is
// taken, so with fewer than 10 known clips the nearest TPR is 100 % at the very first point and the
// result is 0.
double tnr_at_tpr95(const std::vector<double>& known, const std::vector<double>& unknown);

// ---- Both at once: OSCR ------------------------------------------------------------------------

// Points of the CCR-against-FPR curve in the reference's order: sorted by (fpr, ccr) descending,
// from (1, 1) to (0, 0). CCR = known clips accepted and correctly classified / known clips.
struct OscrCurve {
  std::vector<double> fpr;
  std::vector<double> ccr;
};
// `known_correct[i]` says whether known clip i was classified correctly. The scores of known then
// unknown clips are sorted ascending; ties keep that order (a stable sort: the reference's numpy
// argsort leaves the order of ties to the sort implementation). For the point at sorted position k
// the reference counts the correct clips above k (positions k+1..) but the unknown clips from k on
// (positions k..); that off-by-one is kept for parity with published numbers. Throws InputError on
// empty lists, a NaN score or when known_correct and known differ in length.
OscrCurve oscr_curve(const std::vector<double>& known, const std::vector<bool>& known_correct,
                     const std::vector<double>& unknown);
// Trapezoidal area under that curve, in percent.
double oscr(const std::vector<double>& known, const std::vector<bool>& known_correct,
            const std::vector<double>& unknown);

// ---- Closed-set classification of the known clips ----------------------------------------------
// `predicted` and `labels` are class indices of the same clips. InputError when they are empty,
// differ in length or (for UAR) hold a label outside 0..num_classes-1.

// Correct predictions / clips, in percent. WAR (weighted average recall) is the same number: the
// class recalls weighted by the class sizes.
double accuracy(const std::vector<int>& predicted, const std::vector<int>& labels);
// Unweighted average recall, in percent: the mean of the per-class recalls over the classes that
// have at least one clip (a class with no test clip has no recall and is left out).
double uar(const std::vector<int>& predicted, const std::vector<int>& labels, int num_classes);

// Rows: true class 0..K-1, then one "unknown" row for the unknown clips when there are any (which
// known class they were taken for). Columns: predicted class 0..K-1, then, when a threshold is
// given, an "unknown" column for clips whose open-set score is below it (rejected).
struct ConfusionMatrix {
  int num_classes = 0;
  bool unknown_row = false;
  bool unknown_column = false;
  std::vector<std::vector<std::int64_t>> counts;  // [rows][columns]
};

// ---- Everything for a list of clips ------------------------------------------------------------

struct OpenSetMetrics {
  std::size_t num_known = 0;
  std::size_t num_unknown = 0;
  double acc = 0.;  // = war
  double uar = 0.;
  double war = 0.;
  // Only defined when there are unknown clips; a closed-set test set leaves them empty.
  std::optional<double> auroc;
  std::optional<double> oscr;
  std::optional<double> tnr_at_tpr95;
  std::vector<std::optional<double>> class_recall;  // percent; empty for classes with no clip
};

// Checks every clip (InputError naming the clip's index and id): K = num_classes >= 1 logits, all
// finite (a NaN would make the argmax undefined); a label in 0..K-1 or kUnknownLabel; a score that
// is not NaN. Throws InputError when there is no known clip: nothing could be classified.
void check_clips(const std::vector<ClipPrediction>& clips, int num_classes);

// All metrics of a test set, after check_clips. Open-set metrics use each clip's open_set_score.
OpenSetMetrics evaluate(const std::vector<ClipPrediction>& clips, int num_classes);

// Confusion matrix of a test set, after check_clips. With `unknown_threshold`, clips scoring below
// it count as predicted "unknown".
ConfusionMatrix confusion_matrix(const std::vector<ClipPrediction>& clips, int num_classes,
                                 std::optional<double> unknown_threshold = std::nullopt);

}  // namespace hesp::eval

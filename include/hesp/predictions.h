// SPDX-License-Identifier: LGPL-2.1-or-later
// Prediction files and the evaluation report computed from them. A prediction file holds what a
// model said about every clip of one open-set test set (docs/evaluation.md gives the JSON layout);
// `hesp eval` scores one or several of them (several runs or splits: mean and standard deviation)
// and draws ROC, OSCR and confusion-matrix plots. Code that runs a model over a data set can skip
// the file and hand its PredictionSet to evaluate_run() directly. Torch-free.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hesp/open_set_metrics.h"

namespace hesp::eval {

// The value of the optional top-level "format" field, and the newest layout version this build
// reads ("version"); files with a higher version are refused.
inline constexpr const char* kPredictionsFormat = "hesp-predictions";
inline constexpr int kPredictionsVersion = 1;

// One evaluated test set: a run of one model on one split.
struct PredictionSet {
  std::string name;                  // for reports: the file's "name", else the file name stem
  std::string source;                // the file it came from (for messages); may be empty
  std::vector<std::string> classes;  // the K known classes, in logit order
  ScoreRule score_rule = ScoreRule::kMaxLogit;  // how the clips' open_set_score were obtained
  std::vector<ClipPrediction> clips;  // known clips first, then unknown, each in file order
};

// Reads and checks a prediction file. Open-set scores follow the file's score_rule unless
// `score_rule` overrides it (kGiven then needs an open_set_score on every clip). Throws
// FileNotFoundError when the file does not exist and CorruptFileError naming the file, and the
// clip as known[i] / unknown[i] with its id, for everything else: bad JSON (with line and column),
// a missing or mistyped field, logits of the wrong length or not finite, a label that is not one of
// the classes, open_set_score on some clips but not others.
PredictionSet read_predictions(const std::string& path,
                               std::optional<ScoreRule> score_rule = std::nullopt);
// The same checks on a parsed document; `source` names it in messages.
PredictionSet predictions_from_json(const nlohmann::json& doc, const std::string& source,
                                    std::optional<ScoreRule> score_rule = std::nullopt);
// The file layout of `set` (open_set_score is written only under the rule kGiven).
nlohmann::json predictions_to_json(const PredictionSet& set);
// Writes predictions_to_json(set) to `path`. Throws hesp::Error when the file cannot be written.
void write_predictions(const PredictionSet& set, const std::string& path);

// Everything `hesp eval` reports about one run.
struct RunEvaluation {
  std::string name;
  std::string source;
  std::vector<std::string> classes;
  ScoreRule score_rule = ScoreRule::kMaxLogit;
  OpenSetMetrics metrics;
  std::optional<RocCurve> roc;    // when the run has unknown clips
  std::optional<OscrCurve> oscr;  // when the run has unknown clips
  std::optional<double> unknown_threshold;
  ConfusionMatrix confusion;
};

// Metrics, curves and confusion matrix of one run. Errors (InputError) name set.source.
RunEvaluation evaluate_run(const PredictionSet& set,
                           std::optional<double> unknown_threshold = std::nullopt);

// Metric names in report order: acc, auroc, oscr, tnr_at_tpr95, uar, war.
const std::vector<std::string>& metric_names();
// The named metric of a run; empty when the run does not define it (open-set metrics of a run
// without unknown clips). Throws SettingsError for a name not in metric_names().
std::optional<double> metric_value(const OpenSetMetrics& m, const std::string& name);

// A metric over several runs: the runs that define it, their mean and their sample standard
// deviation (n - 1 in the denominator; empty for fewer than two runs).
struct MetricSummary {
  std::size_t runs = 0;
  std::optional<double> mean;
  std::optional<double> std;
};
MetricSummary summarize(const std::vector<RunEvaluation>& runs, const std::string& metric);

// The JSON report: format/version/units, one entry per run (counts, metrics, per-class recall,
// confusion matrix, curve points) and the summary over runs.
nlohmann::json evaluation_report(const std::vector<RunEvaluation>& runs);

// PNG files written by write_evaluation_plots().
struct EvaluationPlots {
  std::string roc;                     // every run's ROC curve; empty when no run has unknowns
  std::string oscr;                    // every run's CCR-against-FPR curve; likewise
  std::vector<std::string> confusion;  // one heat map per run
};
// Draws the plots into `dir` (created when missing): roc.png, oscr.png and confusion.png for one
// run, confusion-<i>-<name>.png for each of several. Throws hesp::Error when a file cannot be
// written.
EvaluationPlots write_evaluation_plots(const std::vector<RunEvaluation>& runs,
                                       const std::string& dir);

}  // namespace hesp::eval

// SPDX-License-Identifier: LGPL-2.1-or-later
// From prediction sets to the numbers of the evaluation report.
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/predictions.h"

namespace hesp::eval {

RunEvaluation evaluate_run(const PredictionSet& set, std::optional<double> unknown_threshold) {
  const std::string what = set.source.empty() ? "run '" + set.name + "'" : set.source;
  RunEvaluation run;
  run.name = set.name;
  run.source = set.source;
  run.classes = set.classes;
  run.score_rule = set.score_rule;
  run.unknown_threshold = unknown_threshold;
  try {
    const int k = static_cast<int>(set.classes.size());
    run.metrics = evaluate(set.clips, k);
    run.confusion = confusion_matrix(set.clips, k, unknown_threshold);
    if (run.metrics.num_unknown > 0) {
      std::vector<double> known;
      std::vector<bool> correct;
      std::vector<double> unknown;
      for (const ClipPrediction& c : set.clips) {
        if (c.label == kUnknownLabel) {
          unknown.push_back(c.open_set_score);
        } else {
          known.push_back(c.open_set_score);
          correct.push_back(predicted_class(c.logits) == c.label);
        }
      }
      run.roc = roc_curve(known, unknown);
      run.oscr = oscr_curve(known, correct, unknown);
    }
  } catch (const Error&) {
    std::throw_with_nested(InputError(what + ": cannot evaluate"));
  }
  return run;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {"acc",          "auroc", "oscr",
                                                 "tnr_at_tpr95", "uar",   "war"};
  return names;
}

std::optional<double> metric_value(const OpenSetMetrics& m, const std::string& name) {
  if (name == "acc") return m.acc;
  if (name == "auroc") return m.auroc;
  if (name == "oscr") return m.oscr;
  if (name == "tnr_at_tpr95") return m.tnr_at_tpr95;
  if (name == "uar") return m.uar;
  if (name == "war") return m.war;
  throw SettingsError("unknown metric '" + name + "'");
}

MetricSummary summarize(const std::vector<RunEvaluation>& runs, const std::string& metric) {
  std::vector<double> values;
  for (const RunEvaluation& r : runs)
    if (const auto v = metric_value(r.metrics, metric)) values.push_back(*v);
  MetricSummary s;
  s.runs = values.size();
  if (values.empty()) return s;
  double sum = 0.;
  for (double v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  s.mean = mean;
  if (values.size() >= 2) {
    double sq = 0.;
    for (double v : values) sq += (v - mean) * (v - mean);
    s.std = std::sqrt(sq / static_cast<double>(values.size() - 1));
  }
  return s;
}

namespace {

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json confusion_json(const RunEvaluation& r) {
  std::vector<std::string> rows = r.classes;
  std::vector<std::string> columns = r.classes;
  if (r.confusion.unknown_row) rows.push_back("unknown");
  if (r.confusion.unknown_column) columns.push_back("unknown");
  return {{"rows", rows},
          {"columns", columns},
          {"counts", r.confusion.counts},
          {"unknown_threshold", optional_json(r.unknown_threshold)}};
}

nlohmann::json run_json(const RunEvaluation& r) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const std::string& name : metric_names())
    metrics[name] = optional_json(metric_value(r.metrics, name));
  nlohmann::json recall = nlohmann::json::object();
  for (std::size_t c = 0; c < r.classes.size(); ++c)
    recall[r.classes[c]] = optional_json(r.metrics.class_recall.at(c));
  nlohmann::json j = {{"name", r.name},
                      {"source", r.source},
                      {"classes", r.classes},
                      {"score_rule", score_rule_name(r.score_rule)},
                      {"num_known", r.metrics.num_known},
                      {"num_unknown", r.metrics.num_unknown},
                      {"metrics", metrics},
                      {"class_recall", recall},
                      {"confusion", confusion_json(r)}};
  j["roc"] = r.roc ? nlohmann::json{{"fpr", r.roc->fpr}, {"tpr", r.roc->tpr}} : nullptr;
  j["oscr_curve"] = r.oscr ? nlohmann::json{{"fpr", r.oscr->fpr}, {"ccr", r.oscr->ccr}} : nullptr;
  return j;
}

}  // namespace

nlohmann::json evaluation_report(const std::vector<RunEvaluation>& runs) {
  nlohmann::json out = {{"format", "hesp-eval-report"},
                        {"version", 1},
                        {"units", {{"metrics", "percent"}, {"curves", "fraction"}}},
                        {"metric_names", metric_names()}};
  nlohmann::json list = nlohmann::json::array();
  for (const RunEvaluation& r : runs) list.push_back(run_json(r));
  out["runs"] = std::move(list);
  nlohmann::json summary = {{"runs", runs.size()}};
  for (const std::string& name : metric_names()) {
    const MetricSummary s = summarize(runs, name);
    summary[name] = {
        {"runs", s.runs}, {"mean", optional_json(s.mean)}, {"std", optional_json(s.std)}};
  }
  out["summary"] = std::move(summary);
  return out;
}

}  // namespace hesp::eval

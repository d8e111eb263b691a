// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp eval --predictions FILE...`: open-set metrics of one or several prediction files (runs or
// splits: mean and standard deviation), a JSON report and PNG plots. docs/evaluation.md describes
// the files.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "hesp/error.h"
#include "hesp/predictions.h"

namespace hesp::cli {

namespace {

struct EvalOptions {
  std::vector<std::string> predictions;
  std::string report;
  std::string plots;
  std::string score_rule;
  std::optional<double> unknown_threshold;
  bool quiet = false;
};

const char* const kHeadings[] = {"ACC", "AUROC", "OSCR", "TNR@95", "UAR", "WAR"};

std::string cell(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", *v);
  return buf;
}

void print_table(const std::vector<eval::RunEvaluation>& runs) {
  std::size_t name_w = 4;
  for (const auto& r : runs) name_w = std::max(name_w, std::min<std::size_t>(r.name.size(), 40));
  std::printf("%-*s %6s %7s  %-11s", static_cast<int>(name_w), "run", "known", "unknown", "score");
  for (const char* h : kHeadings) std::printf(" %7s", h);
  std::printf("\n");
  for (const auto& r : runs) {
    std::printf("%-*s %6zu %7zu  %-11s", static_cast<int>(name_w), r.name.substr(0, 40).c_str(),
                r.metrics.num_known, r.metrics.num_unknown, eval::score_rule_name(r.score_rule));
    for (const auto& m : eval::metric_names())
      std::printf(" %7s", cell(eval::metric_value(r.metrics, m)).c_str());
    std::printf("\n");
  }
  if (runs.size() < 2) return;
  const int pad = static_cast<int>(name_w) + 28;
  std::printf("%-*s", pad, ("mean of " + std::to_string(runs.size()) + " runs").c_str());
  for (const auto& m : eval::metric_names())
    std::printf(" %7s", cell(eval::summarize(runs, m).mean).c_str());
  std::printf("\n%-*s", pad, "std (n-1)");
  for (const auto& m : eval::metric_names())
    std::printf(" %7s", cell(eval::summarize(runs, m).std).c_str());
  std::printf("\n");
}

void run_eval(const EvalOptions& opt) {
  std::optional<eval::ScoreRule> rule;
  if (!opt.score_rule.empty()) rule = eval::parse_score_rule(opt.score_rule);
  // Every file is read and checked before anything is written, so a bad file leaves no half
  // report behind.
  std::vector<eval::RunEvaluation> runs;
  for (const std::string& path : opt.predictions)
    runs.push_back(eval::evaluate_run(eval::read_predictions(path, rule), opt.unknown_threshold));

  nlohmann::json report = eval::evaluation_report(runs);
  if (!opt.plots.empty()) {
    const eval::EvaluationPlots plots = eval::write_evaluation_plots(runs, opt.plots);
    report["plots"] = {{"roc", plots.roc.empty() ? nlohmann::json() : nlohmann::json(plots.roc)},
                       {"oscr", plots.oscr.empty() ? nlohmann::json() : nlohmann::json(plots.oscr)},
                       {"confusion", plots.confusion}};
  }
  if (!opt.report.empty()) {
    std::ofstream out(opt.report, std::ios::trunc);
    out << report.dump(2) << '\n';
    out.close();
    if (!out) throw Error("cannot write report '" + opt.report + "'");
  }
  if (!opt.quiet) print_table(runs);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto opt = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Score prediction files of an open-set test set: ACC, AUROC, OSCR, TNR at 95% TPR, UAR, "
      "WAR (percent; several files: mean and standard deviation), with a JSON report and plots");
  cmd->add_option("-p,--predictions", opt->predictions,
                  "Prediction files (JSON, see docs/evaluation.md), one per run or split")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--report", opt->report, "Write the JSON report here");
  cmd->add_option("--plots", opt->plots,
                  "Write roc.png, oscr.png and confusion heat maps into this folder");
  cmd->add_option("--score-rule", opt->score_rule,
                  "Open-set score instead of the files' score_rule: max_logit, max_softmax, "
                  "energy or given");
  cmd->add_option("--unknown-threshold", opt->unknown_threshold,
                  "Clips scoring below this count as predicted 'unknown' in the confusion matrix");
  cmd->add_flag("-q,--quiet", opt->quiet, "Do not print the table of metrics");
  cmd->callback([opt] { run_eval(*opt); });
}

}  // namespace hesp::cli

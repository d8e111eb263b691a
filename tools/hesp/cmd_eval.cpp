// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp eval --predictions FILE...`: open-set metrics of one or several prediction files (runs or
// splits: mean and standard deviation), a JSON report and PNG plots. `hesp eval --pack P --data F
// --split S` first runs model packs over a test set and scores their predictions the same way.
// docs/evaluation.md describes the files.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "dataset_inputs.h"
#include "hesp/dataset.h"
#include "hesp/dataset_predictions.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/predictions.h"
#include "option_kinds.h"
#include "output_file.h"

namespace hesp::cli {

namespace {

struct EvalOptions {
  std::vector<std::string> predictions;
  // Packs run over a test set.
  std::vector<std::string> packs;
  std::string data;
  std::string root;
  std::string split;
  std::string classes;
  std::string save_predictions;
  int frames = 0;
  std::string device = "cpu";
  int threads = 0;
  std::string precision = "auto";
  bool skip_bad = false;
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
  // A value that rounds to zero from below would print as "-0.00".
  if (std::strcmp(buf, "-0.00") == 0) return "0.00";
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

std::string stem(const std::string& path) {
  const auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = name.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

// Runs every pack over the test set; one prediction set per pack.
std::vector<eval::PredictionSet> predict_packs(const EvalOptions& opt) {
  if (opt.data.empty()) throw SettingsError("--pack needs --data (the test annotation file)");
  data::AnnotationOptions read;
  read.root = opt.root;
  read.skip_bad = opt.skip_bad;
  // "clip1.avi 20 3 Sad" where class 3 is Happy is a broken line, not a Happy clip.
  read.check_label_text = true;
  const std::string classes = classes_file_for(opt.classes, opt.data);
  if (!classes.empty()) read.class_names = data::read_class_file(classes);
  data::OpenSetSplit split;
  if (!opt.split.empty()) {
    split = data::parse_split(opt.split);
    if (read.class_names.empty()) read.class_names = split.class_names;
  } else {
    // No split: every class is known (closed-set scoring, e.g. zero-shot UAR / WAR).
    if (read.class_names.empty())
      throw SettingsError("--pack without --split needs the class names: --classes FILE");
    split.spec = "all";
    split.dataset = "custom";
    for (int id = 0; id < static_cast<int>(read.class_names.size()); ++id)
      if (!read.class_names[id].empty()) split.known.push_back(id);
  }
  const data::Annotations annotations = data::read_annotations(opt.data, read);
  if (!annotations.skipped.empty())
    std::fprintf(stderr, "%s: %s\n", opt.data.c_str(), annotations.skip_summary().c_str());
  const data::SplitItems items = data::apply_split(annotations.items, split);
  if (items.known.empty())
    throw InputError("'" + opt.data + "' has no clips of the known classes of split " + split.spec);

  std::vector<std::string> known = split.known_names();
  if (split.class_names.empty()) {  // custom split: names come from the classes file
    if (read.class_names.empty())
      throw SettingsError("split '" + split.spec +
                          "' gives class ids only; name the classes "
                          "with --classes FILE");
    known.clear();
    for (int id : split.known) known.push_back(read.class_names.at(id));
  }
  std::vector<eval::PredictionSet> sets;
  for (const std::string& pack : opt.packs) {
    ModelOptions model_options;
    model_options.device = opt.device;
    model_options.threads = opt.threads;
    model_options.precision = opt.precision;
    auto model = ExpressionModel::load(pack, model_options);
    eval::DatasetPredictionOptions o;
    o.frames = opt.frames;
    o.known_names = known;
    o.score_rule = opt.score_rule == "given" ? "" : opt.score_rule;
    o.name = stem(pack);
    if (!opt.quiet)
      o.progress = [&](int done, int total) {
        std::fprintf(stderr, "\r%s: %d/%d clips", o.name.c_str(), done, total);
        if (done == total) std::fprintf(stderr, "\n");
      };
    sets.push_back(eval::predict_dataset(*model, items, o));
  }
  return sets;
}

void run_eval(const EvalOptions& opt) {
  if (opt.predictions.empty() && opt.packs.empty())
    throw SettingsError(
        "nothing to evaluate: give --predictions FILE... or --pack PACK --data FILE");
  std::optional<eval::ScoreRule> rule;
  if (!opt.score_rule.empty()) rule = eval::parse_score_rule(opt.score_rule);
  // Every file is read and checked before anything is written, so a bad file leaves no half
  // report behind.
  std::vector<eval::RunEvaluation> runs;
  for (const std::string& path : opt.predictions)
    runs.push_back(eval::evaluate_run(eval::read_predictions(path, rule), opt.unknown_threshold));
  if (!opt.packs.empty()) {
    const std::vector<eval::PredictionSet> sets = predict_packs(opt);
    if (!opt.save_predictions.empty()) {
      if (sets.size() != 1) throw SettingsError("--save-predictions takes one --pack");
      eval::write_predictions(sets[0], opt.save_predictions);
    }
    for (const auto& set : sets) runs.push_back(eval::evaluate_run(set, opt.unknown_threshold));
  }

  nlohmann::json report = eval::evaluation_report(runs);
  if (!opt.plots.empty()) {
    const eval::EvaluationPlots plots = eval::write_evaluation_plots(runs, opt.plots);
    report["plots"] = {{"roc", plots.roc.empty() ? nlohmann::json() : nlohmann::json(plots.roc)},
                       {"oscr", plots.oscr.empty() ? nlohmann::json() : nlohmann::json(plots.oscr)},
                       {"confusion", plots.confusion}};
  }
  if (!opt.report.empty()) write_json_report(opt.report, report);
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
      ->expected(1, -1);
  add_input_file(cmd, "--pack", opt->packs, "Model packs to run over --data and score")
      ->expected(1, -1);
  cmd->add_option("--data", opt->data,
                  "Test annotation file (path num_frames label_id [LabelText] lines) for --pack");
  cmd->add_option("--root", opt->root,
                  "Folder the annotation paths start from (default: the file's folder)");
  cmd->add_option("--split", opt->split,
                  "Known classes: mafw:8:0 (published list), mafw:Happy,Sad or custom:0,3,5; "
                  "default: every class (closed-set)");
  cmd->add_option("--classes", opt->classes,
                  "Classes file (<id> <Name> lines) naming the data set's classes; default: "
                  "classes.txt beside --data");
  add_ranged(cmd, "--frames", opt->frames, "Frames per clip (default: the pack's)", 1, 1000);
  cmd->add_option("--save-predictions", opt->save_predictions,
                  "Also write the pack's predictions as a prediction file");
  cmd->add_option("--device", opt->device, "cpu, cuda or cuda:N");
  add_ranged(cmd, "--threads", opt->threads, "LibTorch threads (0 = default)", 0, 256);
  cmd->add_option("--precision", opt->precision,
                  "CLIP kernel for --pack: auto (the one the pack was calibrated with, where this "
                  "CPU runs it), fp32 or bf16 (CPUs with AVX-512 BF16)")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
      ->capture_default_str();
  cmd->add_flag("--skip-bad", opt->skip_bad,
                "Skip bad annotation lines (they are counted and reported) instead of stopping");
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

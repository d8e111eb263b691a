// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp train probe`: a linear probe of a frozen CLIP image tower (logistic regression on its clip
// embeddings, docs/training.md). Writes no pack: it measures how much the backbone's features say
// about the classes, as one line and an optional JSON report.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "dataset_inputs.h"
#include "hesp/error.h"
#include "hesp/linear_probe.h"
#include "option_kinds.h"
#include "output_file.h"

namespace hesp::cli {

namespace {

struct ProbeCliOptions {
  std::string clip;
  std::string train;
  std::string test;
  std::string root;
  std::string classes;
  std::string split;
  int frames = 8;
  int epochs = 0;
  double lr = 0.0;
  double weight_decay = -1.0;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string report;
  bool quiet = false;
};

void run_train_probe(const ProbeCliOptions& cli) {
  // The classes and split as `hesp train hesp` resolves them.
  const RunClasses classes = resolve_classes(cli.classes, cli.split, cli.train);
  if (classes.known.empty()) throw SettingsError("the split leaves no classes to probe");
  AnnotationReading how;
  how.root = cli.root;
  LinearProbeOptions o;
  o.clip_weights = cli.clip;
  o.class_names = classes.known;
  o.train_items = known_items(cli.train, classes, how);
  o.test_items = known_items(cli.test, classes, how);
  o.frames = cli.frames;
  if (cli.epochs > 0) o.epochs = cli.epochs;
  if (cli.lr > 0) o.learning_rate = cli.lr;
  if (cli.weight_decay >= 0) o.weight_decay = cli.weight_decay;
  o.seed = cli.seed;
  o.threads = cli.threads;
  const bool tty = isatty(2) != 0;
  if (!cli.quiet)
    o.progress = [tty](const LinearProbeProgress& p) {
      if (p.phase != "features") return;
      // On a terminal the count is rewritten in place; logs get one line per set.
      if (tty)
        std::fprintf(stderr, "\r\033[Kembedding %s clips: %lld/%lld", p.set.c_str(),
                     static_cast<long long>(p.clips_done), static_cast<long long>(p.clips_total));
      if (p.clips_done == p.clips_total)
        std::fprintf(stderr, "%sembedded %lld %s clips\n", tty ? "\r\033[K" : "",
                     static_cast<long long>(p.clips_total), p.set.c_str());
    };
  const LinearProbeReport r = run_linear_probe(o);
  std::printf(
      "probe: train %.1f%% (%d clips), test %.1f%% (%d clips), %zu classes, chance %.1f%%, "
      "L2 penalty %g%s\n",
      100 * r.train_accuracy, r.train_clips, 100 * r.test_accuracy, r.test_clips, r.classes.size(),
      100 * r.chance, r.weight_decay, r.selection.empty() ? "" : " (cross-validated)");
  if (cli.report.empty()) return;
  nlohmann::json selection = nlohmann::json::array();
  for (const auto& [penalty, accuracy] : r.selection)
    selection.push_back({{"weight_decay", penalty}, {"cv_accuracy", accuracy}});
  nlohmann::json per_class = nlohmann::json::array();
  for (const auto& c : r.per_class)
    per_class.push_back(
        {{"class", c.name},
         {"clips", c.clips},
         {"correct", c.correct},
         {"accuracy", c.clips > 0 ? nlohmann::json(c.accuracy()) : nlohmann::json()}});
  write_json_report(cli.report, {{"method", "linear_probe"},
                                 {"clip", cli.clip},
                                 {"image_tower", r.image_tower},
                                 {"image_size", r.image_size},
                                 {"feature_dim", r.feature_dim},
                                 {"classes", r.classes},
                                 {"split", classes.split.spec},
                                 {"train_clips", r.train_clips},
                                 {"test_clips", r.test_clips},
                                 {"train_accuracy", r.train_accuracy},
                                 {"test_accuracy", r.test_accuracy},
                                 {"test_uar", r.test_uar},
                                 {"chance", r.chance},
                                 {"per_class_test", per_class},
                                 {"final_loss", r.final_loss},
                                 {"feature_seconds", r.feature_seconds},
                                 {"fit_seconds", r.fit_seconds},
                                 {"seconds", r.seconds},
                                 {"settings",
                                  {{"frames", o.frames},
                                   {"epochs", o.epochs},
                                   {"lr", o.learning_rate},
                                   {"weight_decay", r.weight_decay},
                                   {"weight_decay_chosen", o.weight_decay < 0},
                                   {"weight_decay_selection", selection},
                                   {"seed", o.seed},
                                   {"threads", o.threads}}}});
}

}  // namespace

void add_train_probe_command(CLI::App& train) {
  auto o = std::make_shared<ProbeCliOptions>();
  CLI::App* cmd = train.add_subcommand(
      "probe",
      "Linear probe of a frozen CLIP image tower: logistic regression on its clip embeddings, "
      "scored on test clips; writes no pack");
  add_input_file(cmd, "--clip", o->clip,
                 "CLIP weights: OpenAI .pt (ViT or ResNet) or a pack holding CLIP "
                 "(clip-zeroshot, emoclip, hesp)")
      ->required();
  add_input_file(cmd, "--train", o->train,
                 "Training annotation file: <path> <num_frames> <label_id> [<LabelText>] lines")
      ->required();
  add_input_file(cmd, "--test", o->test, "Test annotation file, the same format")->required();
  cmd->add_option("--root", o->root,
                  "Folder the annotation paths start from (default: the file's)");
  cmd->add_option("--classes", o->classes,
                  "Classes file (<id> <Name> lines, as hesp synth writes); default: classes.txt "
                  "next to --train, else the split's data set");
  cmd->add_option("--split", o->split,
                  "Known classes: mafw:8:0 (published list), mafw:Happy,Sad or custom:0,3,5; "
                  "default: every class");
  add_ranged_default(cmd, "--frames", o->frames, "Frames per clip (T), segment centres", 1, 256);
  add_ranged(cmd, "--epochs", o->epochs, "L-BFGS iterations (default 200)", 1, 100000);
  cmd->add_option("--lr", o->lr, "L-BFGS step scale (default 1)")->check(CLI::PositiveNumber);
  add_ranged(cmd, "--weight-decay", o->weight_decay,
             "L2 penalty on the weights (default: chosen among 1e-4 ... 10 by 4-fold "
             "cross-validation on the training clips)",
             0.0, 10.0);
  cmd->add_option("--seed", o->seed, "Seed of the classifier's initial weights");
  add_ranged(cmd, "--threads", o->threads, "LibTorch threads (0 = default)", 0, 256);
  cmd->add_option("--report", o->report, "Write the probe's report as JSON here");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress output");
  cmd->callback([o] { run_train_probe(*o); });
}

}  // namespace hesp::cli

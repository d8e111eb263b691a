// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp train emoclip` (contrastive video-caption training, docs/emoclip.md) and `hesp train hesp`
// (HESP prompt learning on a frozen CLIP, docs/hesp.md). Both read MAFW/DFEW-style annotation
// files, say how many lines they skipped and why, print loss and ETA while they run and write a
// model pack that hespinfer, `hesp info` and `hesp eval --pack` take.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "dataset_inputs.h"
#include "hesp/dataset.h"
#include "hesp/emoclip.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/hesp_training.h"
#include "hesp/pack_converters.h"
#include "hesp/training_progress.h"
#include "option_kinds.h"
#include "output_file.h"

namespace hesp::cli {

namespace {

// Options both trainers share: data, schedule, machine, output.
struct CommonOptions {
  std::string train;
  std::string root;
  std::string classes;
  std::string split;
  std::string val;
  double val_fraction = -1.0;  // < 0: the trainer's default
  bool skip_bad = false;
  int frames = 8;
  int epochs = 0;
  int batch_size = 0;
  double lr = 0.0;
  double weight_decay = -1.0;
  std::uint64_t seed = 0;
  int threads = 0;
  int loader_threads = 2;
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string output;
  std::string name;
  std::string state;
  bool resume = false;
  int stop_after = 0;
  bool quiet = false;
  std::string report;
};

struct EmoClipCliOptions {
  CommonOptions common;
  std::string captions;
  std::string val_captions;
  std::string init;
  std::string geometry =
      "image=64,patch=16,width=128,layers=2,text-width=128,text-layers=2,embed=64";
  std::string vocab;
  std::string descriptions;
  std::string image_tower = "auto";
  bool freeze_text = false;
  int temporal_layers = 2;
  bool no_augment = false;
  std::string objective = "video";
  double crop_min_area = 0.08;
};

struct HespCliOptions {
  CommonOptions common;
  std::string clip;
  std::string vocab;
  std::string variant = "paper";
  int context_tokens = 16;
  double prompt_step = 0.0;
  double momentum = 0.9;
  double calibration_tpr = 0.95;
  double crop_min_area = 0.08;
  bool no_visual_prompt = false;
};

void add_common(CLI::App* cmd, CommonOptions& o) {
  add_input_file(cmd, "--train", o.train,
                 "Training annotation file: <path> <num_frames> <label_id> [<LabelText>] lines")
      ->required();
  cmd->add_option("--root", o.root, "Folder the annotation paths start from (default: the file's)");
  cmd->add_option("--classes", o.classes,
                  "Classes file (<id> <Name> lines, as hesp synth writes); default: classes.txt "
                  "next to --train, else the split's data set");
  cmd->add_option("--split", o.split,
                  "Known classes: mafw:8:0 (published list), mafw:Happy,Sad or custom:0,3,5; "
                  "default: every class");
  add_input_file(cmd, "--val", o.val, "Validation annotation file");
  add_ranged(cmd, "--val-fraction", o.val_fraction,
             "Hold out this fraction of each class of --train for validation", 0.0, 0.9);
  cmd->add_flag(
      "--skip-bad", o.skip_bad,
      "Skip bad annotation lines (counted and reported) instead of stopping at the first");
  add_ranged(cmd, "--frames", o.frames, "Frames per clip (T)", 1, 256);
  add_ranged(cmd, "--epochs", o.epochs, "Epochs", 1, 100000);
  add_ranged(cmd, "--batch-size", o.batch_size, "Clips per step", 2, 4096);
  cmd->add_option("--lr", o.lr, "Learning rate")->check(CLI::PositiveNumber);
  add_ranged(cmd, "--weight-decay", o.weight_decay, "Weight decay", 0.0, 10.0);
  cmd->add_option("--seed", o.seed, "Seed: the same seed and settings give the same pack");
  add_ranged(cmd, "--threads", o.threads, "LibTorch threads (0 = default)", 0, 256);
  add_ranged(cmd, "--loader-threads", o.loader_threads, "Clips decoded in parallel", 1, 64);
  cmd->add_option("--device", o.device, "cpu, cuda or cuda:N");
  cmd->add_option("--precision", o.precision,
                  "CLIP kernel the pack is validated and calibrated with, and records: fp32, "
                  "bf16 (CPUs with AVX-512 BF16) or auto (= fp32); training itself runs fp32")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", o.output, "The model pack to write (.safetensors)")->required();
  cmd->add_option("--name", o.name, "Name in the pack's manifest (default: the file name)");
  cmd->add_option("--state", o.state,
                  "Training state file, rewritten after every epoch (default: OUTPUT.state)");
  cmd->add_flag("--resume", o.resume, "Continue from --state");
  add_ranged(cmd, "--stop-after", o.stop_after,
             "Stop after this many epochs of this run (state saved; finish later with --resume)", 1,
             100000);
  cmd->add_option("--report", o.report, "Write the training report as JSON here");
  cmd->add_flag("-q,--quiet", o.quiet, "No progress output");
}

// The data of a run: items with known-class labels, the names of those classes.
struct RunData {
  std::vector<std::string> class_names;  // known classes, label order
  std::vector<data::AnnotationItem> train;
  std::vector<data::AnnotationItem> val;
};

RunData load_run_data(const CommonOptions& o, double default_val_fraction) {
  const RunClasses classes = resolve_classes(o.classes, o.split, o.train);
  AnnotationReading how;
  how.root = o.root;
  how.skip_bad = o.skip_bad;
  RunData run;
  run.class_names = classes.known;
  run.train = known_items(o.train, classes, how);
  if (!o.val.empty()) {
    run.val =
        data::apply_split(read_annotation_file(o.val, classes.all, how).items, classes.split).known;
  } else {
    const double fraction = o.val_fraction >= 0.0 ? o.val_fraction : default_val_fraction;
    if (fraction > 0.0) {
      data::HeldOut held = data::hold_out(run.train, fraction, o.seed);
      run.train = std::move(held.train);
      run.val = std::move(held.validation);
    }
  }
  if (!o.quiet)
    std::fprintf(stderr, "data: %zu training clips, %zu validation clips, %zu known classes\n",
                 run.train.size(), run.val.size(), run.class_names.size());
  return run;
}

std::string state_path(const CommonOptions& o) {
  return o.state.empty() ? o.output + ".state" : o.state;
}

// Copies the options both trainers take into a trainer's options; a zero or negative schedule
// value keeps the trainer's default. The learning rate and the stop-after count are named
// differently by the two trainers and set by the caller.
template <typename TrainOptions>
void apply_common(const CommonOptions& o, TrainOptions& t) {
  t.frames = o.frames;
  if (o.epochs > 0) t.epochs = o.epochs;
  if (o.batch_size > 0) t.batch_size = o.batch_size;
  if (o.weight_decay >= 0) t.weight_decay = o.weight_decay;
  t.seed = o.seed;
  t.threads = o.threads;
  t.loader_threads = o.loader_threads;
  t.device = o.device;
  t.precision = o.precision;
  t.output_path = o.output;
  t.name = o.name;
  t.state_path = state_path(o);
  t.resume = o.resume;
}

std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

// One status line: rewritten in place on a terminal, a line per epoch otherwise (logs).
class TrainingStatus {
 public:
  explicit TrainingStatus(bool enabled) : enabled_(enabled), tty_(isatty(2) != 0) {}
  void show(int epoch, int epochs, std::int64_t step, std::int64_t total, double loss,
            double clips_per_second, double eta) {
    if (!enabled_) return;
    const bool new_epoch = epoch != last_epoch_;
    if (!tty_ && !new_epoch && step != total) return;
    last_epoch_ = epoch;
    std::fprintf(stderr, "%sepoch %d/%d  step %lld/%lld  loss %.4f  %.1f clips/s  ETA %s%s",
                 tty_ ? "\r" : "", epoch, epochs, static_cast<long long>(step),
                 static_cast<long long>(total), loss, clips_per_second, clock_text(eta).c_str(),
                 tty_ ? "   " : "\n");
    std::fflush(stderr);
  }
  void line(const std::string& text) {
    if (!enabled_) return;
    std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", text.c_str());
  }

 private:
  bool enabled_;
  bool tty_;
  int last_epoch_ = -1;
};

nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

void run_train_emoclip(const EmoClipCliOptions& cli) {
  const CommonOptions& o = cli.common;
  // Contrastive training needs no validation split; take one only when asked for.
  RunData run = load_run_data(o, 0.0);
  EmoClipTrainOptions t;
  t.train_items = run.train;
  t.val_items = run.val;
  const std::string captions =
      cli.captions.empty() ? folder_of(o.train) + "/captions.tsv" : cli.captions;
  t.train_captions = captions_for_items(run.train, captions);
  if (!run.val.empty())
    t.val_captions =
        captions_for_items(run.val, cli.val_captions.empty() ? captions : cli.val_captions);
  t.init_checkpoint = cli.init;
  t.geometry = cli.geometry;
  t.vocab_path = cli.vocab;
  if (cli.image_tower == "frozen")
    t.image_tower = ImageTowerMode::kFrozen;
  else if (cli.image_tower == "trained")
    t.image_tower = ImageTowerMode::kTrained;
  else
    t.image_tower = ImageTowerMode::kAuto;
  t.train_text_tower = !cli.freeze_text;
  t.temporal_layers = cli.temporal_layers;
  apply_common(o, t);
  if (o.lr > 0) t.lr = o.lr;
  t.stop_after_epochs = o.stop_after;
  t.augment = !cli.no_augment;
  t.crop_min_area = cli.crop_min_area;
  t.objective = cli.objective == "frames" ? EmoClipObjective::kFrames : EmoClipObjective::kVideo;
  t.class_descriptions = read_class_descriptions(cli.descriptions);

  TrainingStatus status(!o.quiet);
  const EmoClipTrainReport r = train_emoclip(t, [&](const train::TrainingProgress& p) {
    if (p.phase == "train")
      status.show(p.epoch, p.epochs, p.step, p.total_steps, p.loss, p.clips_per_second,
                  p.eta_seconds);
  });
  for (const auto& e : r.history) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "epoch %d: train loss %.4f", e.epoch, e.train_loss);
    std::string text = buf;
    if (std::isfinite(e.val_loss)) {
      std::snprintf(buf, sizeof buf, ", val loss %.4f, retrieval %.1f %%, zero-shot %.1f %%",
                    e.val_loss, 100 * e.val_retrieval_accuracy, 100 * e.val_zero_shot_accuracy);
      text += buf;
    }
    status.line(text);
  }
  if (!o.quiet)
    std::printf("wrote %s: %d epochs, final loss %.4f, %.1f clips/s, logit scale %.1f\n",
                r.output_path.c_str(), r.epochs_done, r.final_loss, r.clips_per_second,
                r.logit_scale);
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : r.history)
    history.push_back({{"epoch", e.epoch},
                       {"train_loss", e.train_loss},
                       {"val_loss", finite_or_null(e.val_loss)},
                       {"val_retrieval_accuracy", finite_or_null(e.val_retrieval_accuracy)},
                       {"val_zero_shot_accuracy", finite_or_null(e.val_zero_shot_accuracy)},
                       {"seconds", e.seconds}});
  if (!o.report.empty())
    write_json_report(o.report, {{"method", "emoclip"},
                                 {"output", r.output_path},
                                 {"geometry", r.geometry},
                                 {"epochs_done", r.epochs_done},
                                 {"final_loss", finite_or_null(r.final_loss)},
                                 {"clips_per_second", r.clips_per_second},
                                 {"logit_scale", r.logit_scale},
                                 {"precision", r.precision},
                                 {"train_clips", run.train.size()},
                                 {"val_clips", run.val.size()},
                                 {"history", history}});
}

void run_train_hesp(const HespCliOptions& cli) {
  const CommonOptions& o = cli.common;
  if (cli.variant != "paper" && cli.variant != "released" && cli.variant != "coop")
    throw SettingsError("--variant must be paper, released or coop, not '" + cli.variant + "'");
  // The paper variant (and the coop baseline) select their epoch on validation clips; the
  // released code had none (it picked epochs on the test set), so that variant takes a
  // validation set only when given.
  RunData run = load_run_data(o, cli.variant == "released" ? 0.0 : 0.15);
  HespTrainOptions t;
  t.clip_weights = cli.clip;
  t.vocab_path = cli.vocab;
  t.class_names = run.class_names;
  t.train_items = run.train;
  t.selection_items = run.val;
  t.variant = cli.variant;
  apply_common(o, t);
  if (o.lr > 0) t.learning_rate = o.lr;
  t.max_epochs_this_run = o.stop_after;
  t.momentum = cli.momentum;
  t.context_tokens = cli.context_tokens;
  t.prompt_step = cli.prompt_step;
  t.calibration_tpr = cli.calibration_tpr;
  t.crop_min_area = cli.crop_min_area;
  t.visual_prompt = !cli.no_visual_prompt;
  TrainingStatus status(!o.quiet);
  t.progress = [&](const HespProgress& p) {
    if (p.phase == "train")
      status.show(p.epoch, p.epochs, p.step, p.total_steps, p.loss, p.clips_per_second,
                  p.eta_seconds);
    else if (p.phase == "select") {
      char buf[96];
      std::snprintf(buf, sizeof buf, "epoch %d: validation ACC %.2f", p.epoch, p.selection_acc);
      status.line(buf);
    }
  };
  const HespTrainReport r = train_hesp(t);
  if (!r.finished) {
    if (!o.quiet)
      std::printf("stopped after epoch %d of %d; state in %s (continue with --resume)\n",
                  r.start_epoch + r.epochs_run, r.epochs, t.state_path.c_str());
    return;
  }
  if (!o.quiet) {
    std::printf("wrote %s (%s): %d epochs, kept epoch %d", r.output_path.c_str(), r.variant.c_str(),
                r.epochs, r.best_epoch);
    if (r.selection_acc >= 0) std::printf(" (validation ACC %.2f)", r.selection_acc);
    std::printf(", final loss %.4f, %.1f clips/s, unknown threshold %.3f (%s)\n", r.final_loss,
                r.clips_per_second, r.unknown_threshold, r.precision.c_str());
  }
  if (!o.report.empty())
    write_json_report(o.report,
                      {{"method", "hesp"},
                       {"variant", r.variant},
                       {"output", r.output_path},
                       {"epochs", r.epochs},
                       {"best_epoch", r.best_epoch},
                       {"selection_acc",
                        r.selection_acc >= 0 ? nlohmann::json(r.selection_acc) : nlohmann::json()},
                       {"final_loss", r.final_loss},
                       {"final_terms", r.final_terms},
                       {"clips_per_second", r.clips_per_second},
                       {"seconds", r.seconds},
                       {"train_clips", r.train_items},
                       {"selection_clips", r.selection_items},
                       {"prompt_names", r.prompt_names},
                       {"visual_prompt", {r.prompt_x, r.prompt_y, r.prompt_side}},
                       {"unknown_threshold", r.unknown_threshold},
                       {"precision", r.precision}});
}

}  // namespace

void add_train_command(CLI::App& app) {
  CLI::App* train = app.add_subcommand("train",
                                       "Train a model pack (EmoCLIP video-caption contrastive, or "
                                       "HESP prompts) or probe a frozen CLIP");
  train->require_subcommand(1);

  auto e = std::make_shared<EmoClipCliOptions>();
  CLI::App* emo = train->add_subcommand(
      "emoclip",
      "Contrastive video-caption training: EmoCLIP (CLIP + a temporal transformer, an emoclip "
      "pack) or, with --objective frames, CLIP's own objective on mean-pooled frames (a "
      "clip-zeroshot pack); both classify zero-shot from class descriptions");
  add_common(emo, e->common);
  emo->add_option("--captions", e->captions,
                  "Captions file (<path><TAB><caption>); default: captions.tsv next to --train");
  emo->add_option("--val-captions", e->val_captions, "Captions of --val (default: --captions)");
  add_input_file(emo, "--init", e->init,
                 "Start from these CLIP weights (OpenAI .pt or a pack); default: a new CLIP of "
                 "--geometry trained from scratch");
  emo->add_option("--geometry", e->geometry, "CLIP geometry when training from scratch")
      ->capture_default_str();
  add_input_file(emo, "--vocab", e->vocab, "CLIP's bpe_simple_vocab_16e6.txt.gz")->required();
  add_input_file(emo, "--descriptions", e->descriptions,
                 "Class descriptions (<Class><TAB><sentence>... lines) for the zero-shot classes")
      ->required();
  emo->add_option("--image-tower", e->image_tower,
                  "auto (frozen from a checkpoint, trained from scratch), frozen or trained")
      ->check(CLI::IsMember({"auto", "frozen", "trained"}));
  emo->add_flag("--freeze-text", e->freeze_text, "Keep the text tower fixed");
  add_ranged(emo, "--temporal-layers", e->temporal_layers, "Temporal transformer blocks", 1, 24);
  emo->add_flag("--no-augment", e->no_augment, "No random crops and flips in training");
  add_ranged(emo, "--crop-min-area", e->crop_min_area,
             "Smallest random crop, as a fraction of the frame's area", 0.01, 1.0);
  emo->add_option("--objective", e->objective,
                  "video: the temporal transformer's clip embedding against the caption "
                  "(EmoCLIP, an emoclip pack); frames: the mean of the frame embeddings (CLIP's "
                  "own objective, a clip-zeroshot pack)")
      ->check(CLI::IsMember({"video", "frames"}))
      ->capture_default_str();
  emo->callback([e] { run_train_emoclip(*e); });

  auto h = std::make_shared<HespCliOptions>();
  CLI::App* hesp = train->add_subcommand(
      "hesp",
      "HESP prompt learning on a frozen CLIP (textual, visual and negative prompts); writes a "
      "hesp pack with an open-set 'unknown' decision");
  add_common(hesp, h->common);
  add_input_file(hesp, "--clip", h->clip,
                 "Frozen CLIP weights: OpenAI .pt or a pack holding CLIP (clip-zeroshot, "
                 "emoclip)")
      ->required();
  add_input_file(hesp, "--vocab", h->vocab, "CLIP's bpe_simple_vocab_16e6.txt.gz")->required();
  hesp->add_option("--variant", h->variant,
                   "paper (the published method, defects fixed), released (the authors' code) or "
                   "coop (baseline: text context and CLIP cross-entropy only, MSP score)")
      ->check(CLI::IsMember({"paper", "released", "coop"}));
  add_ranged(hesp, "--context-tokens", h->context_tokens, "Learned text vectors per class", 1, 60);
  add_ranged(hesp, "--prompt-step", h->prompt_step,
             "L2 length of the visual prompts' manual step (0 = 50 x image size / 224)", 0.0, 1e6);
  add_ranged(hesp, "--momentum", h->momentum, "SGD momentum", 0.0, 0.999);
  add_ranged(hesp, "--calibration-tpr", h->calibration_tpr,
             "Known clips kept by the stored unknown threshold", 0.5, 1.0);
  add_ranged(hesp, "--crop-min-area", h->crop_min_area,
             "Smallest random crop, as a fraction of the frame's area", 0.01, 1.0);
  hesp->add_flag("--no-visual-prompt", h->no_visual_prompt,
                 "Ablation: learn no visual prompt (text and negative prompts only)");
  hesp->callback([h] { run_train_hesp(*h); });
  add_train_probe_command(*train);
}

}  // namespace hesp::cli

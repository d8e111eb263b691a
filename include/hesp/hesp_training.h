// SPDX-License-Identifier: LGPL-2.1-or-later
// Training HESP (Liu et al., ACM MM 2024) prompts on a frozen CLIP and writing a `hesp` model pack
// (`hesp train hesp`). Torch-free: the CLI includes this, LibTorch stays in the library. See
// docs/hesp.md for the method, the two variants and the pack layout.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hesp/dataset.h"

namespace hesp {

// One progress report: after every training step (phase "train"), after each selection pass
// ("select") and after calibration ("calibrate").
struct HespProgress {
  std::string phase;
  int epoch = 0;  // 1-based
  int epochs = 0;
  std::int64_t step = 0;         // steps done in this run, 1-based
  std::int64_t total_steps = 0;  // training steps of this run
  double loss = 0.0;             // total loss of the last step
  // The last step's loss terms: clip, supcon, negative, negative_prompt, ensemble.
  std::map<std::string, double> terms;
  double learning_rate = 0.0;
  double clips_per_second = 0.0;  // training clips over this run so far
  double eta_seconds = 0.0;       // for the rest of this run
  double selection_acc = -1.0;    // phase "select": ACC x 100 on the selection clips
};

using HespProgressCallback = std::function<void(const HespProgress&)>;

struct HespTrainOptions {
  // CLIP weights: an OpenAI ViT .pt, a torch.save'd state dict with the same names, or a model
  // pack holding "clip.*" tensors (clip-zeroshot, hesp).
  std::string clip_weights;
  std::string vocab_path;  // bpe_simple_vocab_16e6.txt.gz
  // The K known classes; class_names[i] is the class of label i.
  std::vector<std::string> class_names;
  // Training clips, labels 0..K-1 (hesp::data::apply_split's `known` items).
  std::vector<data::AnnotationItem> train_items;
  // Known clips for model selection (paper variant: the epoch with the best ACC on them is kept)
  // and for calibrating the unknown threshold. Empty: the last epoch is kept and the threshold is
  // calibrated on the training clips.
  std::vector<data::AnnotationItem> selection_items;
  std::string variant = "paper";  // "paper" or "released" (docs/hesp.md)

  int frames = 8;  // T, one frame per equal segment of each clip
  int epochs = 100;
  int batch_size = 64;
  double learning_rate = 0.01;  // SGD; x0.1 after 30 %, 60 % and 90 % of the epochs
  double momentum = 0.9;
  double weight_decay = 1e-4;
  int context_tokens = 16;  // learned text vectors per class
  // L2 length of the per-iteration step of the visual prompt and of the negative visual prompts
  // along their normalised gradients. 0 = 50 x image_size / 224: 50 as released for 224 px
  // inputs, scaled with the image side so the step per pixel stays the same (both prompts have
  // a number of pixels proportional to the side squared, and an L2 length grows with its root).
  double prompt_step = 0.0;
  // The smallest random crop in training, as a fraction of the frame's area (the released code's
  // torchvision default is 0.08; at 64 px such crops leave the eyes a pixel or two).
  double crop_min_area = 0.08;
  // Visual prompting on or off (off = an ablation: no δ is added to the frames, only the text
  // and negative prompts learn).
  bool visual_prompt = true;
  // Fraction of the calibration clips that must stay above the stored unknown threshold.
  double calibration_tpr = 0.95;
  // The kernel CLIP's matrix products run with when the trainer scores clips (model selection
  // and calibration), recorded in the pack as the precision its threshold belongs to, so that
  // the pack run with ModelOptions::precision "auto" reproduces the calibration: "fp32" (oneDNN
  // on the CPU, plain LibTorch on CUDA), "bf16" (CPUs with AVX-512 BF16 only, else SettingsError)
  // or "auto" (= fp32). Training steps run plain fp32 LibTorch either way.
  std::string precision = "fp32";

  std::uint64_t seed = 0;
  int threads = 0;             // LibTorch intra-op threads; 0 = leave the process setting
  int loader_threads = 2;      // clips decoded in parallel
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"

  std::string output_path;  // the pack to write
  std::string name;         // manifest name; empty = the output file name without extension
  // Saved after every epoch when not empty. With resume, training continues from it (it must
  // exist and belong to the same options); the result equals that of an uninterrupted run.
  std::string state_path;
  bool resume = false;
  // Stop after this many epochs in this call (0 = run to the end). The state is saved and no pack
  // is written until the last epoch is done; used to split long runs.
  int max_epochs_this_run = 0;

  HespProgressCallback progress;
};

struct HespTrainReport {
  bool finished = false;  // false when max_epochs_this_run stopped it early
  std::string output_path;
  std::string variant;
  int epochs = 0;               // total planned
  int epochs_run = 0;           // in this call
  int start_epoch = 0;          // 0-based first epoch of this call (> 0 after a resume)
  int best_epoch = 0;           // 1-based epoch whose weights were kept
  double selection_acc = -1.0;  // ACC x 100 of the kept epoch on the selection clips; -1 = none
  std::map<std::string, double> final_terms;  // mean loss terms over the last epoch run
  double final_loss = 0.0;                    // their sum
  double clips_per_second = 0.0;              // training throughput of this call
  double seconds = 0.0;
  int train_items = 0;
  int selection_items = 0;
  int classes = 0;
  std::vector<std::string> prompt_names;            // the class name each label's prompts carried
  int prompt_x = 0, prompt_y = 0, prompt_side = 0;  // where the visual prompt sits
  double unknown_threshold = 0.0;
  std::string calibration_source;  // "selection" or "train"
  std::string device;
  std::string precision;  // recorded in the pack: "fp32" or "bf16"
};

// Trains and writes the pack. Throws SettingsError for bad options (unknown variant, no classes,
// an item whose label is outside 0..K-1, no training items, CUDA asked for but missing, a state
// file from other options), FileNotFoundError / CorruptFileError for missing or bad CLIP weights,
// vocabulary, media or state files.
HespTrainReport train_hesp(const HespTrainOptions& options);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// EmoCLIP training (`hesp train emoclip`): CLIP's image tower encodes each frame, a small temporal
// transformer turns a clip's frame embeddings into one video embedding, and CLIP's symmetric
// contrastive loss pulls each video towards the caption that describes it. The result is an
// `emoclip` model pack: a zero-shot classifier whose classes are text descriptions, and whose
// "clip." weights other trainers can take as their CLIP backbone. See docs/emoclip.md.
// Torch-free on purpose: the CLI includes this; LibTorch stays in src/train/.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "hesp/dataset.h"
#include "hesp/training_progress.h"

namespace hesp {

// Whether CLIP's image tower learns.
enum class ImageTowerMode {
  kAuto,  // frozen when starting from a checkpoint (EmoCLIP), trained when from scratch
  kFrozen,
  kTrained,
};

// Class-level descriptions: (class name, one or more sentences), as read_class_descriptions
// returns them. Each class's embedding is the unit-length mean of its sentences' unit embeddings.
using ClassDescriptions = std::vector<std::pair<std::string, std::vector<std::string>>>;

// What the caption is contrasted with.
enum class EmoClipObjective {
  // EmoCLIP: the temporal transformer's video embedding (an emoclip pack).
  kVideo,
  // CLIP's own objective, per clip: the mean of the clip's frame embeddings, no temporal model.
  // The image space is then the one other methods (zero-shot CLIP, HESP, CoOp) compare with
  // text, as with a released CLIP; the pack is a clip-zeroshot pack.
  kFrames,
};

struct EmoClipTrainOptions {
  // Training clips and one caption per clip (same order and count). Labels are not used for the
  // loss; they only matter for the zero-shot accuracy on the validation clips.
  std::vector<data::AnnotationItem> train_items;
  std::vector<std::string> train_captions;
  // Optional validation clips and captions, scored after every epoch (test-mode sampling, no
  // augmentation).
  std::vector<data::AnnotationItem> val_items;
  std::vector<std::string> val_captions;

  // Where CLIP starts: an OpenAI CLIP .pt (or torch.save'd state dict) or a model pack holding
  // "clip." tensors (clip-zeroshot, emoclip). Empty = a fresh random CLIP of `geometry`.
  std::string init_checkpoint;
  // clip::parse_geometry syntax, e.g. "image=64,patch=16,width=128,layers=2,text-width=128,
  // text-layers=2,embed=64". Used only when init_checkpoint is empty (a checkpoint's geometry
  // comes from its shapes).
  std::string geometry;
  std::string vocab_path;  // bpe_simple_vocab_16e6.txt.gz (also stored in the pack)

  EmoClipObjective objective = EmoClipObjective::kVideo;
  ImageTowerMode image_tower = ImageTowerMode::kAuto;
  bool train_text_tower = true;
  int frames = 8;           // T: frames per clip, and the temporal transformer's positions
  int temporal_layers = 2;  // the temporal transformer's blocks

  int epochs = 10;
  // Clips per step (at most the number of training clips); a smaller last batch is dropped, so
  // every step contrasts the same number of pairs.
  int batch_size = 32;
  // AdamW (betas 0.9/0.98, eps 1e-6 as CLIP) with a linear warm-up over warmup_fraction of all
  // steps, then cosine decay to zero. Gains, biases, embeddings, class token and logit scale
  // get no weight decay.
  double lr = 5e-4;
  double weight_decay = 0.2;
  double warmup_fraction = 0.05;
  // Learning-rate factor for towers that start from checkpoint weights (text, and the image
  // tower when it trains): fine-tuning them at the fresh temporal model's rate wrecks what they
  // know. 1 when training from scratch, whatever is set here.
  double pretrained_lr_scale = 0.1;

  std::uint64_t seed = 0;  // model init, shuffling, sampling and augmentation
  int threads = 0;         // LibTorch intra-op threads; 0 leaves the process-wide setting
  int loader_threads = 2;  // clips decoded in parallel
  bool augment = true;     // training-mode random-resized-crop and flip, one draw per clip
  // The smallest crop area, as a fraction of the frame (torchvision's 0.08 by default; small
  // faces lose their eyes and brows to crops that tight, so face data wants milder ones).
  double crop_min_area = 0.08;
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N" (needs a CUDA build of LibTorch)

  std::string output_path;  // the pack
  std::string name;         // manifest name; empty = the output file's stem
  // Class-level descriptions that make the pack a zero-shot classifier (at least one class).
  ClassDescriptions class_descriptions;
  // Templates for classes added at run time by name (ExpressionModel::add_classes).
  std::vector<std::string> templates = {"a person making a {} face."};
  // The stored unknown threshold is unknown_cosine x the learned logit scale (score max_logit).
  double unknown_cosine = 0.2;
  double face_margin = 0.1;  // stored in the manifest for the clip assembler
  // The kernel CLIP's matrix products run with for validation and for the pack's class
  // embeddings, recorded in the pack (open_set.precision) as the one ModelOptions::precision
  // "auto" runs: "fp32" (oneDNN on the CPU, plain LibTorch on CUDA), "bf16" (CPUs with AVX-512
  // BF16 only, else SettingsError) or "auto" (= fp32). Training steps run plain fp32 LibTorch.
  std::string precision = "fp32";

  // Training state (trainable weights, optimiser moments, epochs done), rewritten after every
  // epoch. Empty = none. With resume, training continues from it and ends with the same
  // weights an uninterrupted run would have.
  std::string state_path;
  bool resume = false;
  // Stop after this many epochs of this call (0 = run to the end of `epochs`); the schedule
  // stays that of `epochs`, so a later resume finishes the same run. The pack is written either
  // way.
  int stop_after_epochs = 0;
};

struct EmoClipEpochStats {
  int epoch = 0;            // 1-based
  double train_loss = 0.0;  // mean over the epoch's steps
  // NaN without validation clips.
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  // Fraction of validation clips whose own caption is the nearest of all validation captions.
  double val_retrieval_accuracy = std::numeric_limits<double>::quiet_NaN();
  // Fraction of validation clips whose label_text names their nearest class description (NaN
  // when some clip's label is not one of the described classes).
  double val_zero_shot_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0.0;
};

struct EmoClipTrainReport {
  std::string output_path;
  std::string geometry;  // clip::geometry_text of the CLIP used
  int start_epoch = 0;   // epochs already done when this run began (resume)
  int epochs_done = 0;   // after this run
  int steps = 0;         // optimiser steps in this run
  double final_loss = std::numeric_limits<double>::quiet_NaN();  // last epoch's mean
  double clips_per_second = 0.0;  // training clips through forward and backward, this run
  double logit_scale = 0.0;       // learned, exp'd
  std::int64_t trainable_parameters = 0;
  std::int64_t total_parameters = 0;
  bool image_tower_frozen = false;
  std::vector<EmoClipEpochStats> history;  // this run's epochs
  // The last epoch's validation numbers (NaN without validation clips).
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_retrieval_accuracy = std::numeric_limits<double>::quiet_NaN();
  double val_zero_shot_accuracy = std::numeric_limits<double>::quiet_NaN();
  std::string precision;  // recorded in the pack: "fp32" or "bf16"
};

using EmoClipProgressFn = std::function<void(const train::TrainingProgress&)>;

// Trains and writes the pack (and the state file). Deterministic for a seed, thread count and
// device. Throws SettingsError for contradictory or out-of-range options (caption count not
// matching the clips, fewer than two training clips, bad geometry, unusable device, a state file
// from other settings), FileNotFoundError / CorruptFileError for the checkpoint, vocabulary,
// state file or a clip, InputError for clips that cannot be loaded.
EmoClipTrainReport train_emoclip(const EmoClipTrainOptions& options,
                                 const EmoClipProgressFn& progress = nullptr);

// Reads a captions file of `path<TAB>caption` lines (what `hesp synth` writes as captions.tsv)
// and returns each item's caption, matched on the item's rel_path. Throws FileNotFoundError,
// CorruptFileError (file:line) for a line without a tab or an empty caption, and InputError
// naming the first item that has no caption.
std::vector<std::string> captions_for_items(const std::vector<data::AnnotationItem>& items,
                                            const std::string& captions_path);

}  // namespace hesp

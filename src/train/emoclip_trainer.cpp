// SPDX-License-Identifier: LGPL-2.1-or-later
// EmoCLIP training: video (CLIP image tower + temporal transformer) against caption (CLIP text
// tower), CLIP's symmetric contrastive loss, AdamW with warm-up and cosine decay. See
// docs/emoclip.md for the choices and where they depart from the paper.
#include "train/emoclip_trainer.h"

#include <c10/core/GradMode.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/serialize/archive.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "clip/clip_checkpoint.h"
#include "clip/clip_init.h"
#include "hesp/error.h"
#include "hesp_config.h"
#include "models/emoclip_model.h"
#include "models/precision.h"
#include "nets/temporal_transformer.h"
#include "torch_util/torch_device.h"
#include "train/clip_batches.h"
#include "train/contrastive_loss.h"
#include "train/training_log.h"
#include "train/training_state.h"
#include "util/strings.h"

namespace hesp {

namespace train {

double emoclip_learning_rate(std::int64_t step, std::int64_t total_steps, double base,
                             double warmup_fraction) {
  const std::int64_t warmup = std::llround(warmup_fraction * static_cast<double>(total_steps));
  if (step < warmup) return base * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const std::int64_t span = std::max<std::int64_t>(1, total_steps - warmup - 1);
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
  return base * 0.5 * (1.0 + std::cos(M_PI * progress));
}

at::Tensor tokenize_texts(const Tokenizer& tokenizer, const std::vector<std::string>& texts,
                          int64_t context_length) {
  const auto rows = tokenizer.tokenize(texts, static_cast<int>(context_length), true);
  at::Tensor out = at::zeros({static_cast<int64_t>(rows.size()), context_length}, at::kLong);
  auto* p = out.data_ptr<int64_t>();
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < rows[i].size(); ++j) p[i * context_length + j] = rows[i][j];
  return out;
}

at::Tensor encode_tokens(clip::TextTransformerImpl& text, const at::Tensor& tokens) {
  // The end token has the largest id, so argmax finds where each row's text ends.
  const int64_t used = tokens.argmax(-1).max().item<int64_t>() + 1;
  return text.forward(tokens.narrow(1, 0, used));
}

at::Tensor description_embeddings(clip::TextTransformerImpl& text, const Tokenizer& tokenizer,
                                  const ClassDescriptions& descriptions) {
  at::NoGradGuard no_grad;
  const auto device = text.text_projection.device();
  const int64_t context = text.geometry().context_length;
  std::vector<at::Tensor> rows;
  for (const auto& [name, sentences] : descriptions) {
    const at::Tensor tokens = tokenize_texts(tokenizer, sentences, context).to(device);
    at::Tensor e = encode_tokens(text, tokens).to(at::kCPU, at::kFloat);
    e = e / e.norm(2, -1, true).clamp_min(1e-12);
    at::Tensor mean = e.mean(0);
    rows.push_back(mean / mean.norm().clamp_min(1e-12));
  }
  return at::stack(rows).contiguous();
}

}  // namespace train

namespace {

using nets::TemporalTransformer;

// Everything one training run holds.
struct Run {
  torch::Device device{torch::kCPU};
  clip::ClipModel clip{nullptr};
  nets::TemporalTransformer temporal{nullptr};
  at::Tensor log_scale;  // the video-text logit scale (separate from CLIP's own)
  bool image_frozen = false;
  bool from_checkpoint = false;
  // Trainable parameters under the names the state file uses.
  std::vector<std::pair<std::string, at::Tensor>> trainable;
};

bool frame_objective(const EmoClipTrainOptions& o) {
  return o.objective == EmoClipObjective::kFrames;
}

void check_options(const EmoClipTrainOptions& o) {
  if (o.output_path.empty()) throw SettingsError("EmoCLIP training: no output pack given");
  if (o.train_items.size() < 2)
    throw SettingsError(
        "EmoCLIP training needs at least 2 training clips (the contrastive loss "
        "compares clips with each other), got " +
        std::to_string(o.train_items.size()));
  if (o.train_captions.size() != o.train_items.size())
    throw SettingsError("EmoCLIP training: " + std::to_string(o.train_items.size()) +
                        " training clips but " + std::to_string(o.train_captions.size()) +
                        " captions (one per clip is needed)");
  if (o.val_captions.size() != o.val_items.size())
    throw SettingsError("EmoCLIP training: " + std::to_string(o.val_items.size()) +
                        " validation clips but " + std::to_string(o.val_captions.size()) +
                        " captions (one per clip is needed)");
  auto check_captions = [](const std::vector<std::string>& captions,
                           const std::vector<data::AnnotationItem>& items, const char* what) {
    for (std::size_t i = 0; i < captions.size(); ++i)
      if (captions[i].find_first_not_of(" \t\r\n") == std::string::npos)
        throw SettingsError(std::string("EmoCLIP training: the caption of ") + what + " clip '" +
                            items[i].rel_path + "' is empty");
  };
  check_captions(o.train_captions, o.train_items, "training");
  check_captions(o.val_captions, o.val_items, "validation");
  if (o.init_checkpoint.empty() && o.geometry.empty())
    throw SettingsError(
        "EmoCLIP training: give a CLIP checkpoint to start from or a geometry "
        "to train a CLIP from scratch");
  if (o.vocab_path.empty()) throw SettingsError("EmoCLIP training: no vocabulary file given");
  if (o.frames < 1) throw SettingsError("frames must be at least 1");
  if (o.temporal_layers < 1) throw SettingsError("temporal layers must be at least 1");
  if (!(o.crop_min_area > 0.0 && o.crop_min_area <= 1.0))
    throw SettingsError("the smallest crop area must be in (0, 1]");
  if (o.epochs < 1) throw SettingsError("epochs must be at least 1");
  if (o.batch_size < 2)
    throw SettingsError("batch size must be at least 2 (the contrastive loss needs pairs), not " +
                        std::to_string(o.batch_size));
  if (!(o.lr > 0.0) || !std::isfinite(o.lr)) throw SettingsError("the learning rate must be > 0");
  if (!(o.weight_decay >= 0.0)) throw SettingsError("weight decay must be >= 0");
  if (!(o.warmup_fraction >= 0.0 && o.warmup_fraction < 1.0))
    throw SettingsError("the warm-up fraction must be in [0, 1)");
  if (!(o.pretrained_lr_scale > 0.0))
    throw SettingsError("the pretrained learning-rate factor must be > 0");
  if (o.threads < 0) throw SettingsError("threads must be 0 (leave as is) or positive");
  if (o.loader_threads < 1) throw SettingsError("loader threads must be at least 1");
  if (o.stop_after_epochs < 0)
    throw SettingsError("stop-after must be 0 (run to the end) or a number of epochs");
  if (o.resume && o.state_path.empty())
    throw SettingsError("resuming needs the state file it continues from");
  if (o.class_descriptions.empty())
    throw SettingsError(
        "EmoCLIP training: no class descriptions (the pack needs at least one "
        "class to be a classifier)");
  std::set<std::string> names;
  for (const auto& [name, sentences] : o.class_descriptions) {
    if (name.empty()) throw SettingsError("a class description has an empty class name");
    if (!names.insert(name).second) throw SettingsError("class '" + name + "' is described twice");
    if (sentences.empty()) throw SettingsError("class '" + name + "' has no description");
  }
  if (o.templates.empty()) throw SettingsError("at least one class-name template is needed");
  for (const std::string& t : o.templates)
    if (t.find("{}") == std::string::npos)
      throw SettingsError("template '" + t + "' has no {} where the class name goes");
  if (!(o.unknown_cosine >= -1.0 && o.unknown_cosine <= 1.0))
    throw SettingsError("the unknown cosine must be in [-1, 1]");
}

std::vector<unsigned char> read_bytes(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileNotFoundError(std::string(what) + " '" + path + "' not found");
  return {std::istreambuf_iterator<char>(in), {}};
}

// FNV-1a: a stable fingerprint of the training data for the state file (std::hash is not
// promised to be the same across builds).
std::uint64_t fnv1a(std::uint64_t h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;
}

// What a resumed run must share with the run that wrote the state, as text: if any of it
// differs, the resumed run would not finish the same run.
nlohmann::json run_fingerprint(const EmoClipTrainOptions& o, const Run& run, int64_t batch_size) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < o.train_items.size(); ++i)
    h = fnv1a(fnv1a(h, o.train_items[i].rel_path), o.train_captions[i]);
  std::ostringstream data;
  data << std::hex << h;
  nlohmann::json print = {
      {"geometry", clip::geometry_text(run.clip->geometry())},
      {"init_checkpoint", std::filesystem::path(o.init_checkpoint).filename().string()},
      {"image_tower_frozen", run.image_frozen},
      {"train_text_tower", o.train_text_tower},
      {"frames", o.frames},
      {"temporal_layers", frame_objective(o) ? 0 : o.temporal_layers},
      {"epochs", o.epochs},
      {"batch_size", batch_size},
      {"lr", o.lr},
      {"weight_decay", o.weight_decay},
      {"warmup_fraction", o.warmup_fraction},
      {"pretrained_lr_scale", o.pretrained_lr_scale},
      {"seed", o.seed},
      {"augment", o.augment},
      {"train_clips", o.train_items.size()},
      {"train_data_fnv1a", data.str()}};
  // Settings added later enter only when they differ from their defaults, as in the HESP
  // trainer, so state files written before they existed still resume.
  if (frame_objective(o)) print["objective"] = "frames";
  if (o.crop_min_area != 0.08) print["crop_min_area"] = o.crop_min_area;
  return print;
}

Run build_run(const EmoClipTrainOptions& o) {
  Run run;
  run.device = torch_util::torch_device(o.device);
  run.from_checkpoint = !o.init_checkpoint.empty();
  if (run.from_checkpoint) {
    run.clip =
        clip::build_model(clip::read_checkpoint_tensors(o.init_checkpoint), o.init_checkpoint);
  } else {
    run.clip = clip::random_clip_model(clip::parse_geometry(o.geometry), o.seed);
  }
  const clip::ModelGeometry& g = run.clip->geometry();
  if (g.vision.embed_dim != g.text.embed_dim)
    throw SettingsError("the image and text towers embed into different sizes (" +
                        std::to_string(g.vision.embed_dim) + " and " +
                        std::to_string(g.text.embed_dim) + ")");
  run.image_frozen = o.image_tower == ImageTowerMode::kFrozen ||
                     (o.image_tower == ImageTowerMode::kAuto && run.from_checkpoint);

  // The temporal model and the logit scale draw from their own seed, so they start the same
  // whether CLIP came from a checkpoint or from random_clip_model.
  torch::manual_seed(o.seed ^ 0x7e4d0a1c5eedull);
  if (!frame_objective(o)) {
    nets::TemporalGeometry tg;
    tg.width = g.vision.embed_dim;
    tg.frames = o.frames;
    tg.layers = o.temporal_layers;
    tg.heads = nets::temporal_heads_for(tg.width);
    run.temporal = nets::TemporalTransformer(tg);
  }
  // CLIP's starting temperature, 0.07.
  run.log_scale = at::full({}, std::log(1.0 / 0.07), at::kFloat);

  for (auto& p : run.clip->image_tower().parameters()) p.set_requires_grad(!run.image_frozen);
  for (auto& p : run.clip->text->parameters()) p.set_requires_grad(o.train_text_tower);
  // CLIP's own scale is not used (the video-text pairs get their own), so it stays as loaded.
  run.clip->logit_scale.set_requires_grad(false);
  run.clip->train();
  // A frozen tower stays in eval mode: a ResNet tower's BatchNorm keeps its statistics.
  if (run.image_frozen) run.clip->image_tower().eval();
  run.clip->to(run.device);
  if (run.temporal) {
    run.temporal->train();
    run.temporal->to(run.device);
  }
  run.log_scale = run.log_scale.to(run.device).set_requires_grad(true);

  for (const auto& item : run.clip->named_parameters())
    if (item.value().requires_grad()) run.trainable.push_back({"clip." + item.key(), item.value()});
  if (run.temporal)
    for (const auto& item : run.temporal->named_parameters())
      run.trainable.push_back({"temporal." + item.key(), item.value()});
  run.trainable.push_back({"logit_scale", run.log_scale});
  return run;
}

// Gains, biases, embeddings, the class token and the logit scale are not decayed (as CLIP's
// training recipe does): shrinking them towards zero has no regularising meaning.
bool decays(const std::string& name, const at::Tensor& t) {
  if (t.dim() < 2) return false;
  return name.find("embedding") == std::string::npos;
}

struct Optimiser {
  std::unique_ptr<torch::optim::AdamW> adamw;
  std::vector<double> lr_factor;  // per parameter group
};

Optimiser make_optimiser(const EmoClipTrainOptions& o, const Run& run) {
  // Groups: (fresh | from checkpoint) x (decayed | not).
  std::vector<at::Tensor> params[2][2];
  for (const auto& [name, t] : run.trainable) {
    const bool pretrained = run.from_checkpoint && name.rfind("clip.", 0) == 0;
    params[pretrained][decays(name, t)].push_back(t);
  }
  Optimiser out;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (int pretrained = 0; pretrained < 2; ++pretrained) {
    for (int decay = 0; decay < 2; ++decay) {
      if (params[pretrained][decay].empty()) continue;
      auto options = std::make_unique<torch::optim::AdamWOptions>(o.lr);
      options->betas({0.9, 0.98}).eps(1e-6).weight_decay(decay ? o.weight_decay : 0.0);
      groups.emplace_back(params[pretrained][decay], std::move(options));
      out.lr_factor.push_back(pretrained ? o.pretrained_lr_scale : 1.0);
    }
  }
  out.adamw = std::make_unique<torch::optim::AdamW>(
      std::move(groups), torch::optim::AdamWOptions(o.lr).betas({0.9, 0.98}).eps(1e-6));
  return out;
}

void set_learning_rate(Optimiser& opt, double lr) {
  auto& groups = opt.adamw->param_groups();
  for (std::size_t i = 0; i < groups.size(); ++i)
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(lr * opt.lr_factor[i]);
}

void save_state(const std::string& path, const Run& run, Optimiser& opt, int epochs_done,
                const nlohmann::json& fingerprint) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string("hesp-emoclip-state-1")));
  archive.write("fingerprint", c10::IValue(fingerprint.dump()));
  archive.write("epochs_done", c10::IValue(static_cast<int64_t>(epochs_done)));
  for (const auto& [name, t] : run.trainable)
    archive.write("param/" + name, t.detach().to(at::kCPU), /*is_buffer=*/true);
  torch::serialize::OutputArchive optimiser;
  opt.adamw->save(optimiser);
  archive.write("optimizer", optimiser);
  train::save_training_state(archive, path);
}

// Returns the epochs the state says are done.
int load_state(const std::string& path, Run& run, Optimiser& opt,
               const nlohmann::json& fingerprint) {
  torch::serialize::InputArchive archive;
  train::open_training_state(path, archive);
  c10::IValue value;
  if (!archive.try_read("format", value) || !value.isString() ||
      value.toStringRef() != "hesp-emoclip-state-1")
    throw CorruptFileError("'" + path + "' is not an EmoCLIP training state");
  archive.read("fingerprint", value);
  const nlohmann::json saved = nlohmann::json::parse(value.toStringRef(), nullptr, false);
  if (saved != fingerprint) {
    std::string diff;
    for (const auto& [key, want] : fingerprint.items())
      if (!saved.contains(key) || saved[key] != want)
        diff += (diff.empty() ? "" : ", ") + key +
                " (state: " + (saved.contains(key) ? saved[key].dump() : "missing") +
                ", now: " + want.dump() + ")";
    throw SettingsError("training state '" + path +
                        "' comes from a run with other settings or data: " + diff);
  }
  archive.read("epochs_done", value);
  const int epochs_done = static_cast<int>(value.toInt());
  {
    at::NoGradGuard no_grad;
    for (auto& [name, t] : run.trainable) {
      at::Tensor stored;
      if (!archive.try_read("param/" + name, stored, /*is_buffer=*/true))
        throw CorruptFileError("training state '" + path + "' lacks parameter '" + name + "'");
      if (stored.sizes() != t.sizes())
        throw CorruptFileError("training state '" + path + "': parameter '" + name +
                               "' has another shape than the model's");
      t.copy_(stored);
    }
  }
  torch::serialize::InputArchive optimiser;
  if (!archive.try_read("optimizer", optimiser))
    throw CorruptFileError("training state '" + path + "' lacks the optimiser state");
  opt.adamw->load(optimiser);
  return epochs_done;
}

// Video embeddings [B, E] of a batch of frames [B, T, 3, S, S] in [0, 1].
at::Tensor encode_videos(Run& run, const at::Tensor& frames) {
  const int64_t b = frames.size(0), t = frames.size(1), s = frames.size(3);
  const at::Tensor x = clip::clip_normalize(frames.to(run.device)).reshape({b * t, 3, s, s});
  at::Tensor per_frame;
  {
    // A frozen tower needs no graph: skipping it saves the activations' memory.
    std::optional<at::NoGradGuard> no_grad;
    if (run.image_frozen) no_grad.emplace();
    per_frame = run.clip->encode_image(x);
  }
  // Mean pooling is what clip-zeroshot packs and HESP's CLIP branch do at inference.
  if (!run.temporal) return per_frame.view({b, t, -1}).mean(1);
  return run.temporal->forward(per_frame.view({b, t, -1}));
}

at::Tensor encode_captions(Run& run, const at::Tensor& tokens, bool train_text) {
  if (!train_text) {
    at::NoGradGuard no_grad;
    return train::encode_tokens(*run.clip->text, tokens.to(run.device));
  }
  return train::encode_tokens(*run.clip->text, tokens.to(run.device));
}

struct ValScores {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double retrieval = std::numeric_limits<double>::quiet_NaN();
  double zero_shot = std::numeric_limits<double>::quiet_NaN();
};

ValScores validate(Run& run, const train::ClipBatches& batches, const at::Tensor& tokens,
                   const at::Tensor& class_embeddings, const std::vector<int>& class_of_item) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> videos, texts;
  double loss_sum = 0.0;
  int64_t loss_clips = 0;
  for (int64_t i = 0; i < batches.batches_per_epoch(); ++i) {
    const train::ClipBatch batch = batches.batch(0, i);
    const at::Tensor index =
        at::tensor(std::vector<int64_t>(batch.items.begin(), batch.items.end()));
    const at::Tensor v = encode_videos(run, batch.frames);
    const at::Tensor t =
        train::encode_tokens(*run.clip->text, tokens.index_select(0, index).to(run.device));
    // A lone last clip has nothing to be contrasted with; it counts for retrieval only.
    if (v.size(0) > 1) {
      loss_sum += train::clip_contrastive_loss(v, t, run.log_scale).item<double>() * v.size(0);
      loss_clips += v.size(0);
    }
    videos.push_back(v.to(at::kCPU));
    texts.push_back(t.to(at::kCPU));
  }
  ValScores out;
  if (loss_clips > 0) out.loss = loss_sum / static_cast<double>(loss_clips);
  at::Tensor v = at::cat(videos), t = at::cat(texts);
  v = v / v.norm(2, -1, true).clamp_min(1e-12);
  t = t / t.norm(2, -1, true).clamp_min(1e-12);
  const int64_t n = v.size(0);
  const at::Tensor nearest = v.mm(t.t()).argmax(1);
  out.retrieval = nearest.eq(at::arange(n, at::kLong)).sum().item<double>() / n;
  if (!class_of_item.empty()) {
    const at::Tensor pred = v.mm(class_embeddings.t()).argmax(1);
    const auto* p = pred.data_ptr<int64_t>();
    int64_t right = 0;
    for (int64_t i = 0; i < n; ++i) right += p[i] == class_of_item[i];
    out.zero_shot = static_cast<double>(right) / n;
  }
  return out;
}

}  // namespace

EmoClipTrainReport train_emoclip(const EmoClipTrainOptions& o, const EmoClipProgressFn& progress) {
  check_options(o);
  // The vocabulary first: it is cheap to check and the usual thing to get wrong.
  const std::vector<unsigned char> vocab = read_bytes(o.vocab_path, "vocabulary file");
  const Tokenizer tokenizer(o.vocab_path);
  if (o.threads > 0) at::set_num_threads(o.threads);

  // Training runs plain at::linear (autograd); validation and the pack's class embeddings go
  // through the kernel the pack will run with.
  const models::TowerKernel scoring =
      models::calibration_kernel(o.precision, models::kernel_host(o.device));
  const clip::LinearKernel scoring_kernel = clip::inference_kernel(scoring.onednn, scoring.bf16);

  Run run = build_run(o);
  const clip::ModelGeometry& g = run.clip->geometry();
  const int64_t context = g.text.context_length;
  const at::Tensor train_tokens = train::tokenize_texts(tokenizer, o.train_captions, context);
  const at::Tensor val_tokens = o.val_items.empty()
                                    ? at::Tensor()
                                    : train::tokenize_texts(tokenizer, o.val_captions, context);

  const int64_t batch_size =
      std::min<int64_t>(o.batch_size, static_cast<int64_t>(o.train_items.size()));
  data::ClipLoaderOptions loader;
  loader.num_segments = o.frames;
  loader.mode = data::SamplingMode::kTrain;
  loader.augment.size = static_cast<int>(g.vision.image_size);
  loader.augment.train = o.augment;
  loader.augment.min_area = static_cast<float>(o.crop_min_area);
  loader.seed = o.seed;
  train::BatchOptions batching;
  batching.batch_size = static_cast<int>(batch_size);
  batching.shuffle = true;
  batching.drop_last = true;
  batching.threads = o.loader_threads;
  const train::ClipBatches train_batches(o.train_items, loader, batching);

  std::unique_ptr<train::ClipBatches> val_batches;
  std::vector<int> val_class;  // description index per validation clip; empty = not all match
  if (!o.val_items.empty()) {
    data::ClipLoaderOptions val_loader = loader;
    val_loader.mode = data::SamplingMode::kTest;
    val_loader.augment.train = false;
    train::BatchOptions val_batching = batching;
    val_batching.shuffle = false;
    val_batching.drop_last = false;
    val_batches = std::make_unique<train::ClipBatches>(o.val_items, val_loader, val_batching);
    std::map<std::string, int> by_name;
    for (std::size_t k = 0; k < o.class_descriptions.size(); ++k)
      by_name[util::lower(o.class_descriptions[k].first)] = static_cast<int>(k);
    for (const auto& item : o.val_items) {
      const auto it = by_name.find(util::lower(item.label_text));
      if (it == by_name.end()) {
        val_class.clear();
        break;
      }
      val_class.push_back(it->second);
    }
  }

  Optimiser opt = make_optimiser(o, run);
  const nlohmann::json fingerprint = run_fingerprint(o, run, batch_size);
  int start_epoch = 0;
  if (o.resume) start_epoch = load_state(o.state_path, run, opt, fingerprint);
  // stop_after_epochs counts the epochs of this call, so a resumed run can be cut again.
  const int end_epoch =
      o.stop_after_epochs > 0 ? std::min(o.epochs, start_epoch + o.stop_after_epochs) : o.epochs;

  EmoClipTrainReport report;
  report.output_path = o.output_path;
  report.geometry = clip::geometry_text(g);
  report.start_epoch = start_epoch;
  report.image_tower_frozen = run.image_frozen;
  for (const auto& p : run.clip->parameters()) report.total_parameters += p.numel();
  if (run.temporal)
    for (const auto& p : run.temporal->parameters()) report.total_parameters += p.numel();
  report.total_parameters += 1;
  for (const auto& [name, t] : run.trainable) report.trainable_parameters += t.numel();

  const int64_t steps_per_epoch = train_batches.batches_per_epoch();
  const int64_t total_steps = steps_per_epoch * o.epochs;
  const int64_t run_steps = steps_per_epoch * std::max(0, end_epoch - start_epoch);
  train::StepClock clock(run_steps);
  train::TrainingProgress status;
  status.phase = "train";
  status.epochs = o.epochs;
  double train_seconds = 0.0;
  int64_t train_clips = 0;

  for (int epoch = start_epoch; epoch < end_epoch; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    status.epoch = epoch + 1;
    double loss_sum = 0.0;
    train::PrefetchedEpoch epoch_batches(train_batches, static_cast<std::uint64_t>(epoch));
    for (int64_t i = 0; i < steps_per_epoch; ++i) {
      const train::ClipBatch batch = epoch_batches.next();
      const auto step_start = std::chrono::steady_clock::now();
      set_learning_rate(opt, train::emoclip_learning_rate(epoch * steps_per_epoch + i, total_steps,
                                                          o.lr, o.warmup_fraction));
      const at::Tensor index =
          at::tensor(std::vector<int64_t>(batch.items.begin(), batch.items.end()));
      const at::Tensor video = encode_videos(run, batch.frames);
      const at::Tensor text =
          encode_captions(run, train_tokens.index_select(0, index), o.train_text_tower);
      const at::Tensor loss = train::clip_contrastive_loss(video, text, run.log_scale);
      opt.adamw->zero_grad();
      loss.backward();
      opt.adamw->step();
      {
        // CLIP keeps the scale at or below 100 so the logits cannot run away.
        at::NoGradGuard no_grad;
        run.log_scale.clamp_(0.0, std::log(nets::kMaxLogitScale));
      }
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw Error("EmoCLIP training diverged at epoch " + std::to_string(epoch + 1) + " step " +
                    std::to_string(i + 1) + " (loss " + std::to_string(value) +
                    "); lower the learning rate");
      loss_sum += value;
      train_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      train_clips += batch.frames.size(0);
      ++report.steps;
      status.loss = value;
      status.terms = {{"contrastive", value},
                      {"logit_scale", std::exp(run.log_scale.item<double>())}};
      clock.step_done(batch.frames.size(0), &status);
      if (progress) progress(status);
    }

    EmoClipEpochStats stats;
    stats.epoch = epoch + 1;
    stats.train_loss = loss_sum / static_cast<double>(steps_per_epoch);
    if (val_batches) {
      run.clip->set_kernel(scoring_kernel);
      // Eval mode: a ResNet tower's BatchNorm uses (and keeps) its running statistics.
      run.clip->eval();
      if (run.temporal) run.temporal->eval();
      const at::Tensor classes =
          val_class.empty()
              ? at::Tensor()
              : train::description_embeddings(*run.clip->text, tokenizer, o.class_descriptions);
      const ValScores val = validate(run, *val_batches, val_tokens, classes, val_class);
      run.clip->set_kernel(clip::LinearKernel{});
      run.clip->train();
      if (run.image_frozen) run.clip->image_tower().eval();
      if (run.temporal) run.temporal->train();
      stats.val_loss = val.loss;
      stats.val_retrieval_accuracy = val.retrieval;
      stats.val_zero_shot_accuracy = val.zero_shot;
      if (progress) {
        train::TrainingProgress v = status;
        v.phase = "validate";
        v.loss = val.loss;
        v.terms = {{"retrieval_accuracy", val.retrieval}};
        if (!std::isnan(val.zero_shot)) v.terms["zero_shot_accuracy"] = val.zero_shot;
        progress(v);
      }
    }
    stats.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    report.history.push_back(stats);
    report.final_loss = stats.train_loss;
    report.val_loss = stats.val_loss;
    report.val_retrieval_accuracy = stats.val_retrieval_accuracy;
    report.val_zero_shot_accuracy = stats.val_zero_shot_accuracy;
    if (!o.state_path.empty()) save_state(o.state_path, run, opt, epoch + 1, fingerprint);
  }
  report.epochs_done = std::max(start_epoch, end_epoch);
  report.clips_per_second = train_seconds > 0.0 ? train_clips / train_seconds : 0.0;
  const double log_scale = run.log_scale.item<double>();
  report.logit_scale = std::min(std::exp(log_scale), nets::kMaxLogitScale);

  // The pack: class embeddings from the trained text tower, weights as they are now.
  run.clip->eval();
  if (run.temporal) run.temporal->eval();
  run.clip->set_kernel(scoring_kernel);
  report.precision = models::recorded_name(scoring);
  const at::Tensor classes =
      train::description_embeddings(*run.clip->text, tokenizer, o.class_descriptions);
  models::EmoClipPackContents contents;
  contents.clip = run.clip.get();
  contents.temporal = run.temporal ? run.temporal.get() : nullptr;
  // A mean of frame embeddings takes any number of frames; pre-training may use a few (apex
  // frames), while clips elsewhere in the project have 8, so the pack asks for at least 8.
  contents.frames_per_clip = std::max(o.frames, 8);
  contents.log_logit_scale = log_scale;
  for (const auto& [name, sentences] : o.class_descriptions) {
    contents.class_names.push_back(name);
    contents.class_prompts.push_back(sentences);
  }
  contents.class_embeddings.assign(classes.data_ptr<float>(),
                                   classes.data_ptr<float>() + classes.numel());
  contents.vocab = vocab;
  contents.templates = o.templates;
  contents.name = o.name;
  contents.unknown_cosine = o.unknown_cosine;
  contents.precision = report.precision;
  contents.face_margin = o.face_margin;
  nlohmann::json training = fingerprint;
  // The pack states every setting, defaults included, whatever the resume check needs.
  training["objective"] = frame_objective(o) ? "frames" : "video";
  training["crop_min_area"] = o.crop_min_area;
  training["epochs_done"] = report.epochs_done;
  training["final_loss"] = report.final_loss;
  training["steps_per_epoch"] = steps_per_epoch;
  training["val_clips"] = o.val_items.size();
  if (!std::isnan(report.val_retrieval_accuracy))
    training["val_retrieval_accuracy"] = report.val_retrieval_accuracy;
  if (!std::isnan(report.val_zero_shot_accuracy))
    training["val_zero_shot_accuracy"] = report.val_zero_shot_accuracy;
  training["optimizer"] = "AdamW, linear warm-up then cosine decay";
  training["loss"] = frame_objective(o) ? "symmetric InfoNCE, mean of frame embeddings vs caption"
                                        : "symmetric InfoNCE, video vs caption";
  const nlohmann::json provenance = {
      {"source", o.init_checkpoint.empty() ? "CLIP trained from scratch by hesp"
                                           : "fine-tuned from a CLIP checkpoint by hesp"},
      {"init_checkpoint", std::filesystem::path(o.init_checkpoint).filename().string()},
      {"vocab", std::filesystem::path(o.vocab_path).filename().string()},
      {"method", frame_objective(o)
                     ? "CLIP's contrastive objective on mean-pooled frames, see docs/emoclip.md"
                     : "EmoCLIP (Foteinopoulou & Patras, FG 2024), see docs/emoclip.md"},
      {"trained_by", std::string("hesp ") + HESP_VERSION + " train emoclip"}};
  contents.training = &training;
  contents.provenance = &provenance;
  models::write_trained_clip_pack(o.output_path, contents);
  return report;
}

std::vector<std::string> captions_for_items(const std::vector<data::AnnotationItem>& items,
                                            const std::string& captions_path) {
  std::ifstream in(captions_path);
  if (!in) throw FileNotFoundError("captions file '" + captions_path + "' not found");
  std::map<std::string, std::string> by_path;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    const auto tab = line.find('\t');
    const std::string where = captions_path + ":" + std::to_string(number) + ": ";
    if (tab == std::string::npos)
      throw CorruptFileError(where + "expected 'path<TAB>caption', found no tab");
    const std::string caption = line.substr(tab + 1);
    if (caption.find_first_not_of(" \t") == std::string::npos)
      throw CorruptFileError(where + "the caption is empty");
    by_path[line.substr(0, tab)] = caption;
  }
  std::vector<std::string> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    const auto it = by_path.find(item.rel_path);
    if (it == by_path.end())
      throw InputError("captions file '" + captions_path + "' has no caption for '" +
                       item.rel_path + "' (" + item.source + ":" + std::to_string(item.line) + ")");
    out.push_back(it->second);
  }
  return out;
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// HESP training: hesp::train_hesp and the step it repeats.
#include "train/hesp_trainer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "clip/clip_checkpoint.h"
#include "hesp/error.h"
#include "hesp/hesp_training.h"
#include "hesp/tokenizer.h"
#include "hesp_config.h"
#include "models/hesp_model.h"
#include "models/open_set.h"
#include "models/precision.h"
#include "torch_util/torch_device.h"
#include "train/clip_batches.h"
#include "train/training_log.h"
#include "train/training_state.h"

namespace hesp {

namespace train {

HespSgd::HespSgd(std::vector<at::Tensor> params, double momentum, double weight_decay)
    : parameters(std::move(params)),
      buffers(parameters.size()),
      momentum_(momentum),
      weight_decay_(weight_decay) {}

void HespSgd::step(double lr) {
  c10::NoGradGuard no_grad;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    at::Tensor& p = parameters[i];
    if (!p.grad().defined()) continue;
    at::Tensor d = p.grad();
    if (weight_decay_ != 0.0) d = d.add(p, weight_decay_);
    if (momentum_ != 0.0) {
      if (!buffers[i].defined())
        buffers[i] = d.clone();
      else
        buffers[i].mul_(momentum_).add_(d);
      d = buffers[i];
    }
    p.add_(d, -lr);
  }
}

std::vector<at::Tensor> sgd_parameters(nets::HespNetworkImpl& network) {
  if (network.variant() == nets::HespVariant::kReleased) return {network.radius};
  if (network.variant() == nets::HespVariant::kCoop) return {network.context};
  return {network.context, network.radius, network.temporal_query, network.temporal_gain};
}

void prompt_step(const at::Tensor& prompt, double length) {
  const at::Tensor& g = prompt.grad();
  if (!g.defined()) return;
  c10::NoGradGuard no_grad;
  const double norm = g.norm().item<double>();
  if (!(norm > 0.0) || !std::isfinite(norm)) return;
  prompt.sub_(g, length / norm);
}

double default_prompt_step(int64_t image_size) { return 50.0 * double(image_size) / 224.0; }

double hesp_learning_rate(double base, int epoch, int epochs) {
  double lr = base;
  for (double f : {0.3, 0.6, 0.9})
    if (epoch >= static_cast<int>(std::ceil(f * epochs - 1e-9))) lr *= 0.1;
  return lr;
}

HespLoss hesp_train_step(nets::HespNetworkImpl& network, HespSgd& sgd, const at::Tensor& frames01,
                         const at::Tensor& labels, double learning_rate, double prompt_length) {
  for (auto& p : network.parameters())
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  const nets::HespOutputs out = network.forward(frames01);
  if (network.variant() == nets::HespVariant::kCoop) {
    // CoOp: the CLIP cross-entropy trains the text context; the prompts HESP adds stay unused.
    HespLoss loss;
    loss.total = hesp_clip_loss(out.clip_logits, labels);
    loss.total.backward();
    loss.terms = {{"clip", loss.total.item<double>()}};
    sgd.step(learning_rate);
    return loss;
  }
  HespLoss loss = hesp_total_loss(out, labels, network.negative_text_features(),
                                  network.logit_scale(), network.radius);
  loss.total.backward();
  // The released code clears the context's gradient right before the optimiser step; here the
  // context has no gradient in that variant and is not among the SGD parameters either.
  sgd.step(learning_rate);
  prompt_step(network.visual_prompt, prompt_length);
  prompt_step(network.negative_prompts, prompt_length);
  return loss;
}

}  // namespace train

namespace {

using nets::HespNetwork;
using nets::HespVariant;

// The learned tensors, by the names the state file uses.
std::vector<std::pair<std::string, at::Tensor>> learned(nets::HespNetworkImpl& net) {
  return {{"context", net.context},
          {"visual_prompt", net.visual_prompt},
          {"negative_prompts", net.negative_prompts},
          {"radius", net.radius},
          {"temporal_query", net.temporal_query},
          {"temporal_gain", net.temporal_gain}};
}

std::vector<at::Tensor> snapshot(nets::HespNetworkImpl& net) {
  std::vector<at::Tensor> out;
  for (auto& [name, t] : learned(net)) out.push_back(t.detach().to(at::kCPU).clone());
  return out;
}

void restore(nets::HespNetworkImpl& net, const std::vector<at::Tensor>& saved) {
  c10::NoGradGuard no_grad;
  auto items = learned(net);
  for (std::size_t i = 0; i < items.size(); ++i) items[i].second.copy_(saved[i]);
}

// FNV-1a: a fixed hash (std::hash may differ between builds) of what makes a run what it is.
std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string fingerprint(const HespTrainOptions& o, const clip::ModelGeometry& g, double step,
                        const std::string& precision) {
  std::string s = o.variant + "|" + std::to_string(o.frames) + "|" + std::to_string(o.epochs) +
                  "|" + std::to_string(o.batch_size) + "|" + std::to_string(o.learning_rate) + "|" +
                  std::to_string(o.momentum) + "|" + std::to_string(o.weight_decay) + "|" +
                  std::to_string(o.context_tokens) + "|" + std::to_string(step) + "|" +
                  std::to_string(o.seed) + "|" + std::to_string(g.vision.image_size) + "|" +
                  std::to_string(g.vision.width) + "|" + std::to_string(g.vision.embed_dim);
  // Selection scores clips with the calibration kernel. fp32 adds nothing, so that state files
  // written before the precision was an option still resume.
  if (precision != "fp32") s += "|precision=" + precision;
  // Likewise only settings away from their defaults, so older state files still resume.
  if (o.crop_min_area != 0.08) s += "|crop_min_area=" + std::to_string(o.crop_min_area);
  if (!o.visual_prompt) s += "|no_visual_prompt";
  for (const auto& n : o.class_names) s += "|" + n;
  for (const auto* items : {&o.train_items, &o.selection_items}) {
    s += "#";
    for (const auto& it : *items)
      s += it.path + ":" + std::to_string(it.label) + ":" + std::to_string(it.frame_count()) + ";";
  }
  return std::to_string(fnv1a(s));
}

struct RunState {
  int next_epoch = 0;  // 0-based first epoch still to run
  int best_epoch = 0;  // 1-based, 0 = none yet
  double best_acc = -1.0;
  std::vector<at::Tensor> best;  // snapshot of the best epoch (paper + selection)
  std::map<std::string, double> last_terms;
};

const char* const kTermNames[] = {"clip", "supcon", "negative", "negative_prompt", "ensemble"};

void save_state(const std::string& path, const std::string& print, nets::HespNetworkImpl& net,
                const train::HespSgd& sgd, const RunState& run) {
  torch::serialize::OutputArchive a;
  a.write("fingerprint", at::tensor(static_cast<std::int64_t>(std::stoull(print))));
  a.write("next_epoch", at::tensor(static_cast<std::int64_t>(run.next_epoch)));
  a.write("best_epoch", at::tensor(static_cast<std::int64_t>(run.best_epoch)));
  a.write("best_acc", at::tensor(run.best_acc, at::kDouble));
  const auto& l = net.location();
  a.write("location", at::tensor(std::vector<std::int64_t>{l.x, l.y, l.side}));
  for (auto& [name, t] : learned(net)) a.write("param." + name, t.detach().to(at::kCPU));
  std::vector<std::int64_t> defined;
  for (std::size_t i = 0; i < sgd.buffers.size(); ++i) {
    defined.push_back(sgd.buffers[i].defined());
    if (sgd.buffers[i].defined()) a.write("sgd." + std::to_string(i), sgd.buffers[i].to(at::kCPU));
  }
  a.write("sgd.defined", at::tensor(defined));
  a.write("best.count", at::tensor(static_cast<std::int64_t>(run.best.size())));
  for (std::size_t i = 0; i < run.best.size(); ++i)
    a.write("best." + std::to_string(i), run.best[i]);
  std::vector<double> terms;
  for (const char* n : kTermNames)
    terms.push_back(run.last_terms.count(n) ? run.last_terms.at(n) : 0);
  a.write("last_terms", at::tensor(terms, at::kDouble));
  train::save_training_state(a, path);
}

RunState load_state(const std::string& path, const std::string& print, nets::HespNetworkImpl& net,
                    train::HespSgd& sgd) {
  torch::serialize::InputArchive a;
  train::open_training_state(path, a);
  RunState run;
  try {
    auto scalar = [&](const char* key) {
      at::Tensor t;
      a.read(key, t);
      return t;
    };
    if (std::to_string(static_cast<std::uint64_t>(scalar("fingerprint").item<std::int64_t>())) !=
        print)
      throw SettingsError("training state '" + path +
                          "' belongs to a run with other options or data; start afresh or "
                          "resume with the options it was made with");
    run.next_epoch = static_cast<int>(scalar("next_epoch").item<std::int64_t>());
    run.best_epoch = static_cast<int>(scalar("best_epoch").item<std::int64_t>());
    run.best_acc = scalar("best_acc").item<double>();
    const at::Tensor loc = scalar("location");
    net.set_location(
        {loc[0].item<std::int64_t>(), loc[1].item<std::int64_t>(), loc[2].item<std::int64_t>()});
    {
      c10::NoGradGuard no_grad;
      for (auto& [name, t] : learned(net)) t.copy_(scalar(("param." + name).c_str()));
    }
    const at::Tensor defined = scalar("sgd.defined");
    if (defined.numel() != static_cast<std::int64_t>(sgd.buffers.size()))
      throw CorruptFileError("training state '" + path + "' has another optimiser layout");
    for (std::size_t i = 0; i < sgd.buffers.size(); ++i)
      if (defined[i].item<std::int64_t>())
        sgd.buffers[i] =
            scalar(("sgd." + std::to_string(i)).c_str()).to(sgd.parameters[i].device());
    const auto count = scalar("best.count").item<std::int64_t>();
    for (std::int64_t i = 0; i < count; ++i)
      run.best.push_back(scalar(("best." + std::to_string(i)).c_str()));
    const at::Tensor terms = scalar("last_terms");
    for (int i = 0; i < 5; ++i) run.last_terms[kTermNames[i]] = terms[i].item<double>();
  } catch (const c10::Error& e) {
    throw CorruptFileError("training state '" + path +
                           "' cannot be read: " + e.what_without_backtrace());
  }
  return run;
}

struct Evaluation {
  double acc = 0.0;            // x 100
  std::vector<double> scores;  // open-set score per clip (the variant's rule)
};

Evaluation evaluate(nets::HespNetworkImpl& net, const train::ClipBatches& batches,
                    const c10::Device& device) {
  c10::NoGradGuard no_grad;
  const at::Tensor text = net.text_features();
  const at::Tensor centers = net.negative_centers();
  const at::Tensor scale = net.logit_scale();
  Evaluation out;
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < batches.batches_per_epoch(); ++i) {
    const train::ClipBatch batch = batches.batch(0, i);
    const at::Tensor frames = batch.frames.to(device);
    const int64_t b = frames.size(0), t = frames.size(1);
    const at::Tensor f = net.encode_frames(frames.flatten(0, 1)).view({b, t, -1});
    const at::Tensor v = nets::pool_frames(f, net.variant(), net.temporal_query, net.temporal_gain);
    const at::Tensor e = nets::variant_logits(v, text, centers, scale, net.variant());
    auto [top, arg] = e.max(1);
    if (net.variant() == nets::HespVariant::kCoop) top = at::softmax(e, 1).amax(1);
    correct += arg.cpu().eq(batch.labels).sum().item<std::int64_t>();
    const at::Tensor s = top.to(at::kCPU, at::kDouble).contiguous();
    out.scores.insert(out.scores.end(), s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  }
  out.acc = 100.0 * double(correct) / double(batches.size());
  return out;
}

// Frames of a few clips (test sampling) as [N, 3, S, S] in [0, 1]: frame `slot` of each.
at::Tensor sample_frames(const std::vector<data::AnnotationItem>& items,
                         const data::ClipLoaderOptions& loader, int slot) {
  std::vector<at::Tensor> frames;
  for (const auto& item : items) {
    const data::ClipSample clip = data::load_clip(item, loader);
    const int s = clip.size;
    const std::size_t bytes = std::size_t(s) * s * 3;
    const at::Tensor rgb = at::from_blob(
        const_cast<std::uint8_t*>(clip.frames.data() + slot * bytes), {s, s, 3}, at::kByte);
    frames.push_back(rgb.permute({2, 0, 1}).to(at::kFloat) / 255.0);
  }
  return at::stack(frames);
}

void check_items(const std::vector<data::AnnotationItem>& items, int k, const char* what) {
  for (const auto& it : items)
    if (it.label < 0 || it.label >= k)
      throw SettingsError(std::string(what) + " item " + it.source + ":" + std::to_string(it.line) +
                          " (" + it.rel_path + ") has label " + std::to_string(it.label) +
                          ", outside the " + std::to_string(k) + " known classes 0.." +
                          std::to_string(k - 1));
}

void validate(const HespTrainOptions& o) {
  nets::parse_hesp_variant(o.variant);
  if (o.class_names.empty()) throw SettingsError("HESP training needs the known class names");
  std::set<std::string> seen;
  for (const auto& n : o.class_names) {
    if (n.empty()) throw SettingsError("a known class name is empty");
    if (!seen.insert(n).second) throw SettingsError("class '" + n + "' is named twice");
  }
  if (o.train_items.empty()) throw SettingsError("no training items");
  const int k = static_cast<int>(o.class_names.size());
  check_items(o.train_items, k, "training");
  check_items(o.selection_items, k, "selection");
  if (o.frames < 1) throw SettingsError("frames per clip must be positive");
  if (o.epochs < 1) throw SettingsError("epochs must be positive");
  if (o.batch_size < 1) throw SettingsError("the batch size must be positive");
  if (!(o.learning_rate > 0.0)) throw SettingsError("the learning rate must be positive");
  if (o.momentum < 0.0 || o.weight_decay < 0.0)
    throw SettingsError("momentum and weight decay must not be negative");
  if (o.context_tokens < 1) throw SettingsError("context tokens must be positive");
  if (o.prompt_step < 0.0) throw SettingsError("the prompt step must not be negative");
  if (!(o.calibration_tpr > 0.0 && o.calibration_tpr <= 1.0))
    throw SettingsError("the calibration TPR must be in (0, 1]");
  if (o.threads < 0 || o.loader_threads < 1)
    throw SettingsError("threads must be >= 0 and loader threads >= 1");
  if (o.max_epochs_this_run < 0) throw SettingsError("max_epochs_this_run must be >= 0");
  if (o.output_path.empty()) throw SettingsError("no output pack given");
  if (o.resume && o.state_path.empty()) throw SettingsError("resume needs a state file");
  if (!std::filesystem::exists(o.clip_weights))
    throw FileNotFoundError("CLIP weights '" + o.clip_weights + "' not found");
  if (!std::filesystem::exists(o.vocab_path))
    throw FileNotFoundError("CLIP vocabulary '" + o.vocab_path + "' not found");
}

}  // namespace

HespTrainReport train_hesp(const HespTrainOptions& o) {
  validate(o);
  const auto started = std::chrono::steady_clock::now();
  const nets::HespVariant variant = nets::parse_hesp_variant(o.variant);
  const c10::Device device = torch_util::torch_device(o.device);
  // Training runs plain at::linear (autograd); clips are scored, for selection and calibration,
  // through the kernel the pack will run with.
  const models::TowerKernel scoring =
      models::calibration_kernel(o.precision, models::kernel_host(o.device));
  const std::string report_precision = models::recorded_name(scoring);
  const clip::LinearKernel scoring_kernel = clip::inference_kernel(scoring.onednn, scoring.bf16);
  if (o.threads > 0) at::set_num_threads(o.threads);
  const int k = static_cast<int>(o.class_names.size());

  clip::TensorMap clip_tensors = clip::read_checkpoint_tensors(o.clip_weights);
  clip::ClipModel clip = clip::build_model(clip_tensors, o.clip_weights);
  clip->to(device);
  const clip::ModelGeometry geometry = clip->geometry();
  const int size = static_cast<int>(geometry.vision.image_size);
  const Tokenizer tokenizer(o.vocab_path);
  const std::vector<std::string> prompt_names = nets::prompt_class_names(o.class_names, variant);
  nets::HespNetworkOptions net_options;
  net_options.variant = variant;
  net_options.context_tokens = o.context_tokens;
  net_options.seed = o.seed;
  nets::HespNetwork net(clip, tokenizer, prompt_names, net_options);
  // Without a gradient the manual step leaves δ at zero, so the frames reach CLIP unchanged.
  if (!o.visual_prompt) net->visual_prompt.set_requires_grad(false);
  const double step_length = o.prompt_step > 0.0 ? o.prompt_step : train::default_prompt_step(size);

  data::ClipLoaderOptions train_loader;
  train_loader.num_segments = o.frames;
  train_loader.mode = data::SamplingMode::kTrain;
  // The released loader repeats a short clip's last frame; the paper variant spreads the frames.
  train_loader.short_clips = variant == nets::HespVariant::kReleased
                                 ? data::ShortClipPolicy::kRepeatLast
                                 : data::ShortClipPolicy::kStretch;
  train_loader.augment.size = size;
  train_loader.augment.train = true;
  train_loader.augment.min_area = static_cast<float>(o.crop_min_area);
  train_loader.seed = o.seed;
  data::ClipLoaderOptions test_loader = train_loader;
  test_loader.mode = data::SamplingMode::kTest;
  test_loader.augment.train = false;

  train::BatchOptions train_batching;
  train_batching.batch_size = o.batch_size;
  train_batching.shuffle = true;
  // A last small batch is dropped only when there is more than one batch: tiny data sets still
  // train, and large ones never see a batch of one (useless to the contrastive term).
  train_batching.drop_last = static_cast<int>(o.train_items.size()) > o.batch_size;
  train_batching.threads = o.loader_threads;
  const train::ClipBatches batches(o.train_items, train_loader, train_batching);
  train::BatchOptions eval_batching = train_batching;
  eval_batching.shuffle = false;
  eval_batching.drop_last = false;
  std::unique_ptr<train::ClipBatches> selection;
  if (!o.selection_items.empty())
    selection = std::make_unique<train::ClipBatches>(o.selection_items, test_loader, eval_batching);

  train::HespSgd sgd(train::sgd_parameters(*net), o.momentum, o.weight_decay);
  const std::string print = fingerprint(o, geometry, step_length, report_precision);
  RunState run;
  if (o.resume) {
    run = load_state(o.state_path, print, *net, sgd);
  } else {
    // Where the visual prompt goes, fixed before training (deterministic for the seed).
    if (variant == nets::HespVariant::kReleased) {
      const at::Tensor frame = sample_frames({o.train_items.front()}, test_loader, 0)[0];
      net->set_location(nets::released_prompt_location(*clip, frame, k, o.seed));
    } else {
      constexpr std::size_t kSample = 64;
      std::vector<data::AnnotationItem> sample;
      std::vector<std::int64_t> labels;
      const std::size_t n = o.train_items.size(), take = std::min(n, kSample);
      for (std::size_t i = 0; i < take; ++i) {
        sample.push_back(o.train_items[i * n / take]);
        labels.push_back(sample.back().label);
      }
      // The classes' plain text embeddings (the learned context is still random here).
      std::vector<std::string> texts;
      for (const auto& name : o.class_names) texts.push_back("a photo of a " + name + " face.");
      const auto rows = tokenizer.tokenize(texts, static_cast<int>(geometry.text.context_length));
      at::Tensor ids = at::empty({k, geometry.text.context_length}, at::kLong);
      for (int c = 0; c < k; ++c)
        for (std::int64_t j = 0; j < geometry.text.context_length; ++j) ids[c][j] = rows[c][j];
      c10::NoGradGuard no_grad;
      const at::Tensor class_text = clip->text->forward(ids.to(device));
      const at::Tensor frames = sample_frames(sample, test_loader, o.frames / 2);
      net->set_location(nets::paper_prompt_location(*clip, frames, at::tensor(labels), class_text));
    }
  }

  HespTrainReport report;
  report.output_path = o.output_path;
  report.variant = nets::hesp_variant_name(variant);
  report.epochs = o.epochs;
  report.start_epoch = run.next_epoch;
  report.train_items = static_cast<int>(o.train_items.size());
  report.selection_items = static_cast<int>(o.selection_items.size());
  report.classes = k;
  report.prompt_names = prompt_names;
  report.device = o.device;
  report.precision = report_precision;

  int last_epoch = o.epochs;
  if (o.max_epochs_this_run > 0)
    last_epoch = std::min(o.epochs, run.next_epoch + o.max_epochs_this_run);
  const std::int64_t per_epoch = batches.batches_per_epoch();
  const std::int64_t total_steps = per_epoch * std::max(0, last_epoch - run.next_epoch);
  train::StepClock clock(total_steps);
  train::TrainingProgress tick;
  std::int64_t clips_seen = 0;
  double train_seconds = 0.0;

  // A report's fields common to every phase of an epoch.
  auto progress_at = [&](const char* phase, int epoch) {
    HespProgress p;
    p.phase = phase;
    p.epoch = epoch + 1;
    p.epochs = o.epochs;
    p.step = tick.step;
    p.total_steps = tick.total_steps;
    p.eta_seconds = tick.eta_seconds;
    return p;
  };
  for (int epoch = run.next_epoch; epoch < last_epoch; ++epoch) {
    const double lr = train::hesp_learning_rate(o.learning_rate, epoch, o.epochs);
    std::map<std::string, double> sums;
    std::int64_t clips = 0;
    net->train();
    train::PrefetchedEpoch epoch_batches(batches, static_cast<std::uint64_t>(epoch));
    for (std::int64_t i = 0; i < per_epoch; ++i) {
      const train::ClipBatch batch = epoch_batches.next();
      const auto t0 = std::chrono::steady_clock::now();
      const at::Tensor frames = batch.frames.to(device);
      const at::Tensor labels = batch.labels.to(device);
      const train::HespLoss loss =
          train::hesp_train_step(*net, sgd, frames, labels, lr, step_length);
      train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const std::int64_t b = frames.size(0);
      clips += b;
      clips_seen += b;
      for (const auto& [name, value] : loss.terms) sums[name] += value * double(b);
      clock.step_done(b, &tick);
      if (o.progress) {
        HespProgress p = progress_at("train", epoch);
        p.loss = loss.total.item<double>();
        p.terms = loss.terms;
        p.learning_rate = lr;
        p.clips_per_second = tick.clips_per_second;
        o.progress(p);
      }
    }
    run.last_terms.clear();
    for (const auto& [name, sum] : sums)
      run.last_terms[name] = sum / double(std::max<std::int64_t>(1, clips));

    if (variant != nets::HespVariant::kReleased && selection) {
      clip->set_kernel(scoring_kernel);
      const Evaluation eval = evaluate(*net, *selection, device);
      clip->set_kernel(clip::LinearKernel{});
      if (eval.acc > run.best_acc) {
        run.best_acc = eval.acc;
        run.best_epoch = epoch + 1;
        run.best = snapshot(*net);
      }
      if (o.progress) {
        HespProgress p = progress_at("select", epoch);
        p.selection_acc = eval.acc;
        o.progress(p);
      }
    }
    run.next_epoch = epoch + 1;
    report.epochs_run += 1;
    if (!o.state_path.empty()) save_state(o.state_path, print, *net, sgd, run);
  }
  report.final_terms = run.last_terms;
  for (const auto& [name, v] : run.last_terms) report.final_loss += v;
  report.clips_per_second = train_seconds > 0.0 ? double(clips_seen) / train_seconds : 0.0;
  const auto& loc = net->location();
  report.prompt_x = static_cast<int>(loc.x);
  report.prompt_y = static_cast<int>(loc.y);
  report.prompt_side = static_cast<int>(loc.side);

  if (run.next_epoch < o.epochs) {
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;  // stopped early on purpose: the state file holds the run
  }
  report.finished = true;

  // The kept epoch: the best on the selection clips (paper), else the last one.
  if (variant != nets::HespVariant::kReleased && !run.best.empty()) restore(*net, run.best);
  report.best_epoch = run.best_epoch > 0 ? run.best_epoch : o.epochs;

  // The unknown threshold keeps calibration_tpr of the known calibration clips (test sampling).
  std::unique_ptr<train::ClipBatches> own_calibration;
  const train::ClipBatches* calibration = selection.get();
  if (!calibration) {
    own_calibration =
        std::make_unique<train::ClipBatches>(o.train_items, test_loader, eval_batching);
    calibration = own_calibration.get();
  }
  // From here on the scoring kernel: calibration, and the text features stored in the pack.
  clip->set_kernel(scoring_kernel);
  const Evaluation calib = evaluate(*net, *calibration, device);
  if (selection) report.selection_acc = calib.acc;
  report.calibration_source = selection ? "selection" : "train";
  report.unknown_threshold = models::threshold_at_tpr(calib.scores, o.calibration_tpr);
  if (o.progress) {
    HespProgress p;
    p.phase = "calibrate";
    p.epoch = o.epochs;
    p.epochs = o.epochs;
    p.selection_acc = report.selection_acc;
    o.progress(p);
  }

  models::HespPackContents pack;
  pack.path = o.output_path;
  pack.name = o.name.empty() ? std::filesystem::path(o.output_path).stem().string() : o.name;
  pack.clip_tensors = std::move(clip_tensors);
  pack.variant = variant;
  pack.class_names = o.class_names;
  pack.prompt_names = prompt_names;
  pack.input_size = size;
  pack.frames_per_clip = o.frames;
  {
    c10::NoGradGuard no_grad;
    pack.text_features = net->text_features();
    pack.negative_centers = net->negative_centers();
  }
  pack.text_context = net->context;
  pack.visual_prompt = net->visual_prompt;
  pack.temporal_query = net->temporal_query;
  pack.temporal_gain = net->temporal_gain;
  pack.radius = net->radius;
  pack.location = loc;
  pack.unknown_threshold = report.unknown_threshold;
  pack.precision = report_precision;
  pack.calibration = {{"method", "threshold at a TPR on known clips (test sampling)"},
                      {"tpr", o.calibration_tpr},
                      {"clips", calib.scores.size()},
                      {"source", report.calibration_source},
                      {"acc", calib.acc}};
  pack.training = {{"source", "HESP prompt learning on a frozen CLIP"},
                   {"trained_by", std::string("hesp ") + HESP_VERSION},
                   {"clip_weights", std::filesystem::path(o.clip_weights).filename().string()},
                   {"variant", report.variant},
                   {"epochs", o.epochs},
                   {"best_epoch", report.best_epoch},
                   {"selection_acc", report.selection_acc},
                   {"train_items", report.train_items},
                   {"selection_items", report.selection_items},
                   {"frames", o.frames},
                   {"batch_size", o.batch_size},
                   {"learning_rate", o.learning_rate},
                   {"momentum", o.momentum},
                   {"weight_decay", o.weight_decay},
                   {"context_tokens", o.context_tokens},
                   {"prompt_step", step_length},
                   {"crop_min_area", o.crop_min_area},
                   {"visual_prompt", o.visual_prompt},
                   {"seed", o.seed},
                   {"final_terms", report.final_terms},
                   {"license", "see the CLIP weights' licence (OpenAI CLIP: MIT)"}};
  models::write_hesp_pack(pack);
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace hesp

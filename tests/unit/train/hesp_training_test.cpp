// SPDX-License-Identifier: LGPL-2.1-or-later
// HESP on a tiny random CLIP and a few synthetic clips: gradients reach the prompts, the text
// context trains in the paper variant only, a short run learns the known classes, runs are
// reproducible and resumable, the written pack loads and classifies, bad options fail clearly.
// Needs CLIP's BPE vocabulary from the shared data (skips without it); the CLIP is made here.
#include "hesp/hesp_training.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "clip/clip_checkpoint.h"
#include "hesp/dataset.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "hesp/synth.h"
#include "hesp/tokenizer.h"
#include "models/hesp_model.h"
#include "nets/hesp_network.h"
#include "synth_suite.h"
#include "test_data.h"
#include "tiny_clip_pack.h"
#include "train/hesp_losses.h"
#include "train/hesp_trainer.h"

namespace fs = std::filesystem;

namespace {

using hesp::nets::HespVariant;
using hesp::test::kTinyClipGeometry;
using hesp::test::kTinyResNetClipGeometry;
using hesp::test::write_tiny_clip_pack;

constexpr int kFrames = 4;
// Label order on purpose not alphabetical, so the released pairing differs from the paper's.
const std::vector<std::string> kClasses = {"Sad", "Happy", "Surprise", "Angry"};

std::string vocab() { return hesp::test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }

class HespTraining : public hesp::test::SynthDatasetSuite<HespTraining> {
 protected:
  static void SetUpTestSuite() {
    write_dataset("hesp_hesp_", {/*seed=*/31, /*train_per_class=*/8, /*test_per_class=*/0,
                                 /*size=*/32, /*n_frames=*/8, "Happy,Sad,Surprise,Angry",
                                 /*camera_effects=*/false});
    write_tiny_clip_pack(path("tiny_clip.safetensors"), kTinyClipGeometry);
    write_tiny_clip_pack(path("tiny_resnet_clip.safetensors"), kTinyResNetClipGeometry);
  }
  void SetUp() override { HESP_REQUIRE_FILE(vocab()); }

  // The synthetic clips relabelled to kClasses' order (label = index of the class name).
  static std::vector<hesp::data::AnnotationItem> items() {
    auto all = train_items();
    for (auto& it : all) {
      const auto at = std::find(kClasses.begin(), kClasses.end(), it.label_text);
      it.label = static_cast<int>(at - kClasses.begin());
    }
    return all;
  }

  static hesp::HespTrainOptions options(const std::string& variant, const std::string& out) {
    hesp::HespTrainOptions o;
    o.clip_weights = path("tiny_clip.safetensors");
    o.vocab_path = vocab();
    o.class_names = kClasses;
    o.train_items = items();
    o.variant = variant;
    set_tiny_run(o, {kFrames, /*epochs=*/3, /*batch_size=*/8, /*seed=*/3}, out);
    o.name = "tiny-hesp";
    return o;
  }

  static hesp::nets::HespNetwork network(HespVariant variant) {
    hesp::nets::HespNetworkOptions o;
    o.variant = variant;
    o.seed = 9;
    const hesp::Tokenizer tokenizer(vocab());
    return hesp::nets::HespNetwork(hesp::clip::load_clip_checkpoint(path("tiny_clip.safetensors")),
                                   tokenizer, hesp::nets::prompt_class_names(kClasses, variant), o);
  }

  // Random frames in [0, 1] and labels for a network-level step.
  static std::pair<at::Tensor, at::Tensor> random_batch() {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
    return {torch::rand({4, kFrames, 3, 32, 32}, gen), torch::tensor({0, 1, 2, 0}, torch::kLong)};
  }

  // The pack's learned tensors, by name.
  static std::map<std::string, at::Tensor> learned(const std::string& pack_path) {
    const hesp::ModelPack pack = hesp::ModelPack::open(pack_path);
    std::map<std::string, at::Tensor> out;
    for (const auto& t : pack.tensors()) {
      if (t.name.rfind("hesp.", 0) != 0) continue;
      at::Tensor x = torch::empty(t.shape, torch::kFloat);
      std::memcpy(x.data_ptr(), t.data, t.nbytes);
      out[t.name] = x;
    }
    return out;
  }

  static void expect_same_pack(const std::string& a, const std::string& b) {
    const auto ta = learned(a), tb = learned(b);
    ASSERT_EQ(ta.size(), tb.size());
    ASSERT_EQ(ta.size(), 7u);
    for (const auto& [name, t] : ta) EXPECT_TRUE(torch::equal(t, tb.at(name))) << name;
    const auto ma = hesp::ModelPack::open(a).manifest(), mb = hesp::ModelPack::open(b).manifest();
    EXPECT_EQ(ma["open_set"], mb["open_set"]);
    EXPECT_EQ(ma["visual_prompt"], mb["visual_prompt"]);
  }

  // Test-sampled clips of the items as RGB bytes.
  static std::vector<hesp::data::ClipSample> clips() {
    hesp::data::ClipLoaderOptions o;
    o.num_segments = kFrames;
    o.augment.size = 32;
    std::vector<hesp::data::ClipSample> out;
    for (const auto& it : items()) out.push_back(hesp::data::load_clip(it, o));
    return out;
  }
};

TEST_F(HespTraining, GradientsReachThePromptsNotClip) {
  auto net = network(HespVariant::kPaper);
  const auto [frames, labels] = random_batch();
  const auto out = net->forward(frames);
  EXPECT_EQ(out.ensemble.sizes(), (std::vector<int64_t>{4, 4}));
  const auto loss = hesp::train::hesp_total_loss(out, labels, net->negative_text_features(),
                                                 net->logit_scale(), net->radius);
  loss.total.backward();
  ASSERT_TRUE(net->visual_prompt.grad().defined());
  EXPECT_GT(net->visual_prompt.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(net->negative_prompts.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(net->context.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(net->temporal_query.grad().abs().sum().item<double>(), 0.0);
  for (const auto& p : net->clip().parameters()) EXPECT_FALSE(p.grad().defined());
  // The visual prompt is 3 x S/4 x S/4 and starts at zero.
  EXPECT_EQ(net->visual_prompt.sizes(), (std::vector<int64_t>{3, 8, 8}));
}

TEST_F(HespTraining, TextContextTrainsOnlyInThePaperVariant) {
  for (const HespVariant variant : {HespVariant::kPaper, HespVariant::kReleased}) {
    auto net = network(variant);
    hesp::train::HespSgd sgd(hesp::train::sgd_parameters(*net), 0.9, 1e-4);
    const at::Tensor context = net->context.detach().clone();
    const at::Tensor prompt = net->visual_prompt.detach().clone();
    const auto [frames, labels] = random_batch();
    hesp::train::hesp_train_step(*net, sgd, frames, labels, 0.01, 7.0);
    const bool moved = !torch::equal(context, net->context.detach());
    if (variant == HespVariant::kPaper)
      EXPECT_TRUE(moved) << "paper: the context must train";
    else
      EXPECT_FALSE(moved) << "released: the context must stay as initialised";
    // Both variants move the visual prompt by exactly the fixed step length.
    EXPECT_NEAR((net->visual_prompt.detach() - prompt).norm().item<double>(), 7.0, 1e-3);
  }
}

TEST_F(HespTraining, ShortRunLearnsTheKnownClasses) {
  hesp::HespTrainOptions o = options("paper", "paper.safetensors");
  // A random frozen CLIP says little about expressions (a nearest-class-mean classifier on its
  // clip embeddings gets about 45 % of these clips right), and the default fixed prompt step
  // (7 at 32 px) keeps the prompts moving too much for 80 steps; a larger learning rate and a
  // small step let this short run show learning.
  o.epochs = 20;
  o.learning_rate = 0.5;
  o.prompt_step = 0.1;
  o.selection_items = o.train_items;
  std::map<int, std::pair<double, int>> epoch_loss;
  int selects = 0;
  o.progress = [&](const hesp::HespProgress& p) {
    if (p.phase == "train") {
      epoch_loss[p.epoch].first += p.loss;
      epoch_loss[p.epoch].second += 1;
      EXPECT_EQ(p.terms.size(), 5u);
      EXPECT_GE(p.eta_seconds, 0.0);
    }
    if (p.phase == "select") ++selects;
  };
  const hesp::HespTrainReport r = hesp::train_hesp(o);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(selects, 20);
  EXPECT_EQ(r.train_items, 32);
  EXPECT_EQ(r.epochs_run, 20);
  EXPECT_GE(r.best_epoch, 1);
  EXPECT_LE(r.best_epoch, 20);
  EXPECT_EQ(r.prompt_names, kClasses);
  EXPECT_EQ(r.final_terms.size(), 5u);
  EXPECT_GT(r.clips_per_second, 0.0);
  const auto mean = [&](int e) { return epoch_loss[e].first / epoch_loss[e].second; };
  EXPECT_LT(mean(20), mean(1)) << "the loss did not go down";
  // Chance is 25 %: at least 12 of the 32 clips.
  EXPECT_GE(r.selection_acc, 37.5);

  // The pack: loads as an ExpressionModel and agrees with the training-time selection ACC.
  const auto model = hesp::ExpressionModel::load(o.output_path, {"cpu", 2});
  EXPECT_EQ(model->kind(), "hesp");
  EXPECT_EQ(model->class_names(), kClasses);
  EXPECT_EQ(model->input_size(), 32);
  EXPECT_EQ(model->frames_per_clip(), kFrames);
  EXPECT_DOUBLE_EQ(model->face_margin(), 0.1);
  EXPECT_EQ(model->score_rule(), "max_logit");
  EXPECT_DOUBLE_EQ(model->default_unknown_threshold(), r.unknown_threshold);
  const auto samples = clips();
  std::vector<hesp::ClipView> views;
  for (const auto& s : samples) views.push_back({s.frames.data(), s.n_frames, s.size});
  const auto all = model->classify(views, -std::numeric_limits<double>::infinity());
  ASSERT_EQ(all.size(), samples.size());
  int correct = 0, kept = 0;
  const auto train = items();
  for (std::size_t i = 0; i < all.size(); ++i) {
    correct += all[i].label_id == train[i].label;
    kept += all[i].open_set_score >= r.unknown_threshold;
    EXPECT_EQ(all[i].open_set_score, *std::max_element(all[i].logits.begin(), all[i].logits.end()));
  }
  EXPECT_NEAR(100.0 * correct / all.size(), r.selection_acc, 1e-9);
  // The threshold keeps at least 95 % of the calibration clips.
  EXPECT_GE(kept, 31);

  // Batch-size independent: one clip at a time gives the same results.
  for (std::size_t i = 0; i < views.size(); i += 5) {
    const auto one = model->classify({views[i]}, r.unknown_threshold);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].label_id, all[i].label_id < 0 ? one[0].label_id : all[i].label_id);
    for (std::size_t k = 0; k < kClasses.size(); ++k)
      EXPECT_NEAR(one[0].logits[k], all[i].logits[k], 1e-4) << "clip " << i;
  }
  // Prompted frames cache like plain ones (the prompt is fixed at inference): a clip whose
  // frames were all seen before runs no frame again and gives the same logits.
  {
    const auto cached = hesp::ExpressionModel::load(o.output_path, {"cpu", 2});
    cached->set_frame_cache(64);
    std::vector<std::uint64_t> keys(kFrames);
    for (int f = 0; f < kFrames; ++f) keys[f] = 100 * f;
    hesp::ClipView v = views[0];
    v.frame_keys = keys.data();
    v.track = 3;
    for (int pass = 0; pass < 2; ++pass) {
      const auto got = cached->classify({v}, 0.0)[0];
      for (std::size_t k = 0; k < kClasses.size(); ++k)
        EXPECT_NEAR(got.logits[k], all[0].logits[k], 1e-4) << "pass " << pass;
    }
    EXPECT_EQ(cached->frames_computed(), static_cast<std::uint64_t>(kFrames));
    EXPECT_EQ(cached->frames_reused(), static_cast<std::uint64_t>(kFrames));
    EXPECT_NO_THROW(cached->set_frame_subsample(2));  // attention pooling takes any frames
  }
  // Larger crops are resized to the input size.
  std::vector<std::uint8_t> big(kFrames * 48 * 48 * 3, 128);
  EXPECT_EQ(model->classify({{big.data(), kFrames, 48}}, 0.0).size(), 1u);

  // The pack also serves as a CLIP backbone, and records its variant and pairing.
  EXPECT_NO_THROW(hesp::clip::load_clip_checkpoint(o.output_path));
  const auto m = hesp::ModelPack::open(o.output_path).manifest();
  EXPECT_EQ(m["variant"], "paper");
  EXPECT_EQ(m["clip_pooling"], "temporal_attention");
  EXPECT_EQ(m["prompt_class_names"].get<std::vector<std::string>>(), kClasses);
  EXPECT_EQ(m["provenance"]["best_epoch"], r.best_epoch);
  // Selection and calibration ran through the kernel the pack runs with ("auto" = the recorded
  // one): that is why the ACC and the kept clips above match the training's exactly.
  EXPECT_EQ(r.precision, "fp32");
  EXPECT_EQ(m["open_set"]["precision"], "fp32");
  EXPECT_EQ(model->precision(), "fp32");
}

// HESP on a ResNet image tower: both prompt-location rules find a window from the tower's own
// feature maps, the pack runs, and the δ-off ablation leaves the visual prompt at zero.
TEST_F(HespTraining, ResNetTowerTrainsAndTheDeltaAblationKeepsDeltaZero) {
  for (const char* variant : {"paper", "released"}) {
    hesp::HespTrainOptions o = options(variant, std::string("rn-") + variant + ".safetensors");
    o.clip_weights = path("tiny_resnet_clip.safetensors");
    o.epochs = 2;
    o.crop_min_area = 0.5;
    const hesp::HespTrainReport r = hesp::train_hesp(o);
    ASSERT_TRUE(r.finished) << variant;
    const auto pack = hesp::ModelPack::open(o.output_path);
    EXPECT_EQ(pack.manifest()["architecture"]["type"], "openai-clip-resnet + hesp prompts")
        << variant;
    EXPECT_EQ(pack.manifest()["provenance"]["crop_min_area"], 0.5);
    EXPECT_GT(learned(o.output_path).at("hesp.visual_prompt").abs().sum().item<double>(), 0.0)
        << variant << ": δ never moved";
    const auto model = hesp::ExpressionModel::load(o.output_path, {"cpu", 2});
    const auto samples = clips();
    const auto out = model->classify({{samples[0].frames.data(), kFrames, 32}}, 0.0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].logits.size(), kClasses.size());
  }
  hesp::HespTrainOptions o = options("paper", "rn-nodelta.safetensors");
  o.clip_weights = path("tiny_resnet_clip.safetensors");
  o.epochs = 2;
  o.visual_prompt = false;
  ASSERT_TRUE(hesp::train_hesp(o).finished);
  EXPECT_EQ(learned(o.output_path).at("hesp.visual_prompt").abs().sum().item<double>(), 0.0);
  EXPECT_EQ(hesp::ModelPack::open(o.output_path).manifest()["provenance"]["visual_prompt"], false);
}

TEST_F(HespTraining, ReleasedVariantPairsSortedNamesAndKeepsItsContext) {
  hesp::HespTrainOptions o = options("released", "released.safetensors");
  o.epochs = 2;
  const hesp::HespTrainReport r = hesp::train_hesp(o);
  ASSERT_TRUE(r.finished);
  const std::vector<std::string> sorted = {"Angry", "Happy", "Sad", "Surprise"};
  EXPECT_EQ(r.prompt_names, sorted);
  EXPECT_EQ(r.best_epoch, 2);  // no selection: the last epoch
  EXPECT_EQ(r.calibration_source, "train");
  const auto m = hesp::ModelPack::open(o.output_path).manifest();
  EXPECT_EQ(m["classes"].get<std::vector<std::string>>(), kClasses);
  EXPECT_EQ(m["prompt_class_names"].get<std::vector<std::string>>(), sorted);
  EXPECT_EQ(m["clip_pooling"], "mean_embedding");
  // The stored context is the initial one: the network built with the same seed has it.
  hesp::nets::HespNetworkOptions no;
  no.variant = HespVariant::kReleased;
  no.seed = o.seed;
  const hesp::Tokenizer tokenizer(vocab());
  hesp::nets::HespNetwork fresh(hesp::clip::load_clip_checkpoint(o.clip_weights), tokenizer, sorted,
                                no);
  EXPECT_TRUE(torch::equal(learned(o.output_path).at("hesp.text_context"), fresh->context));
  EXPECT_NO_THROW(hesp::ExpressionModel::load(o.output_path));
}

TEST_F(HespTraining, CoopBaselineTrainsOnlyTheContextAndScoresByMaxSoftmax) {
  auto net = network(HespVariant::kCoop);
  hesp::train::HespSgd sgd(hesp::train::sgd_parameters(*net), 0.9, 1e-4);
  const at::Tensor context = net->context.detach().clone();
  const auto [frames, labels] = random_batch();
  const auto loss = hesp::train::hesp_train_step(*net, sgd, frames, labels, 0.01, 7.0);
  EXPECT_EQ(loss.terms.size(), 1u);
  EXPECT_TRUE(loss.terms.count("clip"));
  EXPECT_FALSE(torch::equal(context, net->context.detach())) << "coop: the context must train";
  EXPECT_EQ(net->visual_prompt.detach().abs().sum().item<double>(), 0.0) << "no visual prompt";

  hesp::HespTrainOptions o = options("coop", "coop.safetensors");
  o.epochs = 2;
  const hesp::HespTrainReport r = hesp::train_hesp(o);
  ASSERT_TRUE(r.finished);
  const auto m = hesp::ModelPack::open(o.output_path).manifest();
  EXPECT_EQ(m["variant"], "coop");
  EXPECT_EQ(m["open_set"]["score"], "max_softmax");
  auto model = hesp::ExpressionModel::load(o.output_path);
  const auto samples = clips();
  std::vector<hesp::ClipView> views;
  for (const auto& c : samples) views.push_back({c.frames.data(), c.n_frames, c.size});
  for (const auto& result : model->classify(views, 0.0)) {
    // MSP: the score is the winning class's softmax probability.
    double best = 0.0;
    for (double p : result.class_scores) best = std::max(best, p);
    EXPECT_NEAR(result.open_set_score, best, 1e-9);
  }
}

TEST_F(HespTraining, SameSeedSameResultAndResumeEqualsUninterrupted) {
  hesp::HespTrainOptions a = options("paper", "a.safetensors");
  a.selection_items =
      std::vector<hesp::data::AnnotationItem>(a.train_items.begin(), a.train_items.begin() + 12);
  const auto ra = hesp::train_hesp(a);
  hesp::HespTrainOptions b = a;
  b.output_path = path("b.safetensors");
  const auto rb = hesp::train_hesp(b);
  expect_same_pack(a.output_path, b.output_path);
  EXPECT_EQ(ra.final_loss, rb.final_loss);
  EXPECT_EQ(ra.best_epoch, rb.best_epoch);

  // Interrupted after each epoch and resumed twice.
  hesp::HespTrainOptions c = a;
  c.output_path = path("c.safetensors");
  c.state_path = path("c.state");
  c.max_epochs_this_run = 1;
  auto rc = hesp::train_hesp(c);
  EXPECT_FALSE(rc.finished);
  EXPECT_FALSE(fs::exists(c.output_path));
  EXPECT_TRUE(fs::exists(c.state_path));
  c.resume = true;
  rc = hesp::train_hesp(c);
  EXPECT_EQ(rc.start_epoch, 1);
  EXPECT_FALSE(rc.finished);
  c.max_epochs_this_run = 0;
  rc = hesp::train_hesp(c);
  EXPECT_TRUE(rc.finished);
  EXPECT_EQ(rc.start_epoch, 2);
  EXPECT_EQ(rc.epochs_run, 1);
  expect_same_pack(a.output_path, c.output_path);
  EXPECT_EQ(rc.best_epoch, ra.best_epoch);
  EXPECT_EQ(rc.final_loss, ra.final_loss);

  // A state file only resumes the run it belongs to.
  hesp::HespTrainOptions d = c;
  d.seed = 4;
  EXPECT_THROW(hesp::train_hesp(d), hesp::SettingsError);
  // Another seed gives another model.
  hesp::HespTrainOptions e = a;
  e.seed = 4;
  e.epochs = 1;
  e.output_path = path("e.safetensors");
  hesp::train_hesp(e);
  EXPECT_FALSE(torch::equal(learned(a.output_path).at("hesp.negative_centers"),
                            learned(e.output_path).at("hesp.negative_centers")));
}

template <typename E>
void expect_error(const hesp::HespTrainOptions& o, const std::string& words) {
  try {
    hesp::train_hesp(o);
    FAIL() << "no error; expected one mentioning '" << words << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST_F(HespTraining, BadOptionsGiveClearErrors) {
  hesp::HespTrainOptions o = options("paper", "bad.safetensors");
  auto bad = o;
  bad.train_items[3].label = 4;
  expect_error<hesp::SettingsError>(bad, "outside the 4 known classes");
  bad = o;
  bad.selection_items = {o.train_items[0]};
  bad.selection_items[0].label = -1;
  expect_error<hesp::SettingsError>(bad, "label -1");
  bad = o;
  bad.train_items.clear();
  expect_error<hesp::SettingsError>(bad, "no training items");
  bad = o;
  bad.variant = "official";
  expect_error<hesp::SettingsError>(bad, "unknown HESP variant 'official'");
  bad = o;
  bad.clip_weights = path("missing.pt");
  expect_error<hesp::FileNotFoundError>(bad, "missing.pt");
  bad = o;
  bad.class_names = {"Sad", "Sad", "Happy", "Angry"};
  expect_error<hesp::SettingsError>(bad, "named twice");
  bad = o;
  bad.precision = "half";
  expect_error<hesp::SettingsError>(bad, "unknown precision 'half'");
  if (!__builtin_cpu_supports("avx512bf16")) {
    bad.precision = "bf16";
    expect_error<hesp::SettingsError>(bad, "AVX-512 BF16");
  }
  bad = o;
  bad.device = "cuda";
  if (!torch::cuda::is_available()) expect_error<hesp::SettingsError>(bad, "CUDA");
  bad = o;
  bad.resume = true;
  bad.state_path = path("never-written.state");
  expect_error<hesp::FileNotFoundError>(bad, "never-written.state");
  EXPECT_FALSE(fs::exists(o.output_path));
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
// EmoCLIP: the temporal transformer, the contrastive loss against hand-computed values, the
// learning-rate schedule, tiny from-scratch training runs on a synthetic data set (the loss goes
// down, a seed fixes the weights, resuming ends where an uninterrupted run ends), the written pack
// as an ExpressionModel and as a CLIP checkpoint, and the errors a user meets.
#include "hesp/emoclip.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "clip/clip_checkpoint.h"
#include "hesp/clip_encoder.h"
#include "hesp/dataset.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "hesp/synth.h"
#include "models/emoclip_model.h"
#include "nets/temporal_transformer.h"
#include "synth_suite.h"
#include "test_data.h"
#include "train/contrastive_loss.h"
#include "train/emoclip_trainer.h"
#include "train/training_log.h"

namespace fs = std::filesystem;
using hesp::nets::TemporalGeometry;
using hesp::nets::TemporalTransformer;

namespace {

constexpr const char* kTinyGeometry =
    "image=32,patch=16,width=64,layers=1,text-width=64,text-layers=1,embed=32,context=40";

std::string vocab() { return hesp::test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }

// ---------------------------------------------------------------------------------------------
// Temporal transformer.

TemporalTransformer small_temporal(int64_t frames = 4) {
  torch::manual_seed(5);
  TemporalGeometry g;
  g.width = 32;
  g.frames = frames;
  g.layers = 2;
  g.heads = hesp::nets::temporal_heads_for(g.width);
  return TemporalTransformer(g);
}

TEST(TemporalTransformer, ShapesAndShortClips) {
  TemporalTransformer t = small_temporal();
  EXPECT_EQ(t->geometry().heads, 1);
  EXPECT_EQ(t->positional_embedding.sizes(), (std::vector<int64_t>{5, 32}));
  torch::NoGradGuard no_grad;
  EXPECT_EQ(t->forward(torch::randn({3, 4, 32})).sizes(), (std::vector<int64_t>{3, 32}));
  EXPECT_EQ(t->forward(torch::randn({2, 1, 32})).sizes(), (std::vector<int64_t>{2, 32}));
  EXPECT_THROW(t->forward(torch::randn({2, 5, 32})), hesp::InputError);  // more than 4 frames
  EXPECT_THROW(t->forward(torch::randn({2, 4, 16})), hesp::InputError);  // wrong width
  EXPECT_THROW(t->forward(torch::randn({4, 32})), hesp::InputError);
  // The final LayerNorm starts as the identity affine: every output row has mean 0, variance 1.
  const auto y = t->forward(torch::randn({3, 4, 32}));
  EXPECT_LT(y.mean(1).abs().max().item<double>(), 1e-5);
  EXPECT_NEAR(y.var(1, /*unbiased=*/false).mean().item<double>(), 1.0, 1e-3);
}

TEST(TemporalTransformer, ClassTokenSeesEveryFrameInOrderAndClipsAreIndependent) {
  TemporalTransformer t = small_temporal();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 4, 32});
  const auto y = t->forward(x);
  // Each clip's embedding is its own: alone or in a batch, the same.
  EXPECT_TRUE(torch::allclose(t->forward(x.narrow(0, 1, 1))[0], y[1], 1e-5, 1e-5));
  // Changing the last frame changes the class token's output (it attends to all frames). A random
  // change: a constant added to a whole row would vanish in the LayerNorms.
  auto x2 = x.clone();
  x2[0][3] += torch::randn({32});
  EXPECT_GT((t->forward(x2)[0] - y[0]).abs().max().item<double>(), 1e-3);
  EXPECT_TRUE(torch::allclose(t->forward(x2)[1], y[1], 1e-5, 1e-5));
  // Positions matter: the same frames in reverse order give another embedding.
  const auto reversed = t->forward(x.flip({1}));
  EXPECT_GT((reversed - y).abs().max().item<double>(), 1e-3);
  // The output is the class token's row, not a pooled one: with the class token changed and the
  // frames the same, the embedding moves.
  t->class_embedding.add_(torch::randn({32}));
  EXPECT_GT((t->forward(x) - y).abs().max().item<double>(), 1e-3);
}

TEST(TemporalTransformer, BadGeometryIsRefused) {
  TemporalGeometry g;
  g.width = 30;
  g.heads = 4;
  EXPECT_THROW(TemporalTransformer{g}, hesp::SettingsError);
  g.width = 32;
  g.heads = 1;
  g.frames = 0;
  EXPECT_THROW(TemporalTransformer{g}, hesp::SettingsError);
}

// ---------------------------------------------------------------------------------------------
// Loss and schedule.

TEST(ContrastiveLoss, MatchesHandComputedValue) {
  // Videos (1, 0) and (0, 3); captions (2, 0) and (1, 1): unit vectors make the cosine matrix
  // [[1, r], [0, r]] with r = 1/sqrt(2). Scale 2.
  const auto video = torch::tensor({1.f, 0.f, 0.f, 3.f}).view({2, 2});
  const auto text = torch::tensor({2.f, 0.f, 1.f, 1.f}).view({2, 2});
  const double r = 1.0 / std::sqrt(2.0), s = 2.0;
  const double l00 = s, l01 = s * r, l10 = 0.0, l11 = s * r;
  auto ce = [](double right, double other) {
    return -std::log(std::exp(right) / (std::exp(right) + std::exp(other)));
  };
  const double rows = (ce(l00, l01) + ce(l11, l10)) / 2.0;  // each video picks its caption
  const double cols = (ce(l00, l10) + ce(l11, l01)) / 2.0;  // each caption picks its video
  const double want = (rows + cols) / 2.0;
  const auto loss = hesp::train::clip_contrastive_loss(video, text, torch::tensor(std::log(s)));
  EXPECT_NEAR(loss.item<double>(), want, 1e-6);
  // The scale is clamped at 100: log(1000) gives the loss of log(100).
  const double at100 =
      hesp::train::clip_contrastive_loss(video, text, torch::tensor(std::log(100.0)))
          .item<double>();
  EXPECT_NEAR(hesp::train::clip_contrastive_loss(video, text, torch::tensor(std::log(1000.0)))
                  .item<double>(),
              at100, 1e-6);
  // Perfectly matched, well-separated pairs give a loss near zero.
  const auto eye = torch::eye(3);
  EXPECT_LT(
      hesp::train::clip_contrastive_loss(eye, eye, torch::tensor(std::log(100.0))).item<double>(),
      1e-6);
  EXPECT_THROW(hesp::train::clip_contrastive_loss(eye, video, torch::tensor(0.0)),
               hesp::InputError);
}

TEST(LearningRate, WarmsUpThenFollowsACosineToZero) {
  using hesp::train::emoclip_learning_rate;
  // 100 steps, 10 % warm-up.
  EXPECT_NEAR(emoclip_learning_rate(0, 100, 1.0, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(emoclip_learning_rate(9, 100, 1.0, 0.1), 1.0, 1e-12);
  EXPECT_NEAR(emoclip_learning_rate(10, 100, 1.0, 0.1), 1.0, 1e-12);
  EXPECT_NEAR(emoclip_learning_rate(99, 100, 1.0, 0.1), 0.0, 1e-12);
  // Half way through the cosine part: half the rate.
  const double mid = emoclip_learning_rate(10 + 89 / 2, 100, 1.0, 0.1);
  EXPECT_NEAR(mid, 0.5 * (1.0 + std::cos(M_PI * (44.0 / 89.0))), 1e-12);
  EXPECT_NEAR(emoclip_learning_rate(0, 10, 2.0, 0.0), 2.0, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Training on a tiny synthetic data set.

class EmoClipTraining : public hesp::test::SynthDatasetSuite<EmoClipTraining> {
 protected:
  static void SetUpTestSuite() {
    write_dataset("hesp_emoclip_", {/*seed=*/21, /*train_per_class=*/6, /*test_per_class=*/2,
                                    /*size=*/32, /*n_frames=*/8, "Happy,Sad,Surprise,Angry",
                                    /*camera_effects=*/false});
  }
  void SetUp() override { HESP_REQUIRE_FILE(vocab()); }

  static hesp::EmoClipTrainOptions options(const std::string& out) {
    hesp::EmoClipTrainOptions o;
    o.train_items = train_items();
    o.train_captions = hesp::captions_for_items(o.train_items, path("captions.tsv"));
    o.geometry = kTinyGeometry;
    o.vocab_path = vocab();
    set_tiny_run(o, {/*frames=*/4, /*epochs=*/4, /*batch_size=*/8, /*seed=*/7}, out);
    o.temporal_layers = 1;
    o.lr = 2e-3;
    o.weight_decay = 0.01;
    o.warmup_fraction = 0.1;
    o.class_descriptions = {
        {"Happy", {"a person smiles as the corners of the mouth turn up"}},
        {"Sad",
         {"a person turns the corners of the mouth down and looks down",
          "the inner ends of the eyebrows rise"}},
        {"Surprise", {"a person raises the eyebrows high and drops the jaw"}},
        {"Angry", {"a person lowers the eyebrows into a frown and presses the lips together"}},
    };
    return o;
  }

  // Every tensor of a pack by name, as bytes.
  static std::map<std::string, std::string> pack_bytes(const std::string& file) {
    const auto pack = hesp::ModelPack::open(file);
    std::map<std::string, std::string> out;
    for (const auto& t : pack.tensors())
      out[t.name] = std::string(static_cast<const char*>(t.data), t.nbytes);
    return out;
  }
};

TEST_F(EmoClipTraining, LossFallsAndTheSameSeedGivesTheSameWeights) {
  auto o = options("a.safetensors");
  o.val_items = hesp::data::read_annotations(path("test.txt")).items;
  o.val_captions = hesp::captions_for_items(o.val_items, path("captions.tsv"));
  std::vector<hesp::train::TrainingProgress> seen;
  const auto report =
      hesp::train_emoclip(o, [&](const hesp::train::TrainingProgress& p) { seen.push_back(p); });
  ASSERT_EQ(report.history.size(), 4u);
  EXPECT_EQ(report.epochs_done, 4);
  EXPECT_EQ(report.steps, 12);              // 24 clips in batches of 8, four epochs
  EXPECT_FALSE(report.image_tower_frozen);  // from scratch, everything trains
  EXPECT_EQ(report.trainable_parameters, report.total_parameters - 1);  // all but CLIP's scale
  EXPECT_LT(report.history.back().train_loss, report.history.front().train_loss - 0.05)
      << "first epoch " << report.history.front().train_loss << ", last "
      << report.history.back().train_loss;
  EXPECT_GT(report.clips_per_second, 0.0);
  EXPECT_GE(report.val_retrieval_accuracy, 0.0);
  EXPECT_LE(report.val_retrieval_accuracy, 1.0);
  EXPECT_FALSE(std::isnan(report.val_loss));
  // Validation labels name the described classes, so zero-shot accuracy is measured.
  EXPECT_FALSE(std::isnan(report.val_zero_shot_accuracy));
  // Progress: one report per step (phase train) and one per epoch (validate), ETA to zero.
  int train_steps = 0, validations = 0;
  for (const auto& p : seen) (p.phase == "train" ? train_steps : validations)++;
  EXPECT_EQ(train_steps, 12);
  EXPECT_EQ(validations, 4);
  EXPECT_EQ(seen.back().phase, "validate");
  EXPECT_DOUBLE_EQ(seen[seen.size() - 2].eta_seconds, 0.0);
  EXPECT_GT(seen.front().terms.at("logit_scale"), 1.0);

  auto b = options("b.safetensors");
  const auto report_b = hesp::train_emoclip(b);
  EXPECT_EQ(report_b.final_loss, report.final_loss);
  const auto pa = pack_bytes(o.output_path), pb = pack_bytes(b.output_path);
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& [name, bytes] : pa) EXPECT_TRUE(pb.at(name) == bytes) << name << " differs";

  // Another seed, other weights.
  auto c = options("c.safetensors");
  c.seed = 8;
  hesp::train_emoclip(c);
  EXPECT_FALSE(pack_bytes(c.output_path).at("temporal.class_embedding") ==
               pa.at("temporal.class_embedding"));
}

TEST_F(EmoClipTraining, ResumingEndsWhereAnUninterruptedRunEnds) {
  auto whole = options("whole.safetensors");
  whole.epochs = 3;
  whole.state_path = path("whole.state");
  hesp::train_emoclip(whole);
  EXPECT_TRUE(fs::exists(whole.state_path));

  auto first = options("part.safetensors");
  first.epochs = 3;
  first.stop_after_epochs = 1;
  first.state_path = path("part.state");
  const auto r1 = hesp::train_emoclip(first);
  EXPECT_EQ(r1.epochs_done, 1);
  auto second = first;
  second.stop_after_epochs = 0;
  second.resume = true;
  const auto r2 = hesp::train_emoclip(second);
  EXPECT_EQ(r2.start_epoch, 1);
  EXPECT_EQ(r2.epochs_done, 3);
  EXPECT_EQ(r2.history.size(), 2u);

  const auto pw = pack_bytes(whole.output_path), pr = pack_bytes(second.output_path);
  ASSERT_EQ(pw.size(), pr.size());
  for (const auto& [name, bytes] : pw) EXPECT_TRUE(pr.at(name) == bytes) << name << " differs";

  // A state from other settings is refused, naming what differs.
  auto other = second;
  other.lr = 1e-3;
  try {
    hesp::train_emoclip(other);
    FAIL() << "resumed from a state with another learning rate";
  } catch (const hesp::SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos) << e.what();
  }
  auto missing = second;
  missing.state_path = path("no-such.state");
  EXPECT_THROW(hesp::train_emoclip(missing), hesp::FileNotFoundError);
}

TEST_F(EmoClipTraining, PackClassifiesAndServesAsAClipCheckpoint) {
  auto o = options("model.safetensors");
  o.epochs = 2;
  o.name = "tiny-emoclip";
  const auto report = hesp::train_emoclip(o);

  // The manifest.
  const auto pack = hesp::ModelPack::open(o.output_path);
  EXPECT_EQ(pack.kind(), "emoclip");
  EXPECT_EQ(pack.name(), "tiny-emoclip");
  const auto& m = pack.manifest();
  EXPECT_EQ(m["frames_per_clip"], 4);
  EXPECT_EQ(m["architecture"]["temporal"]["layers"], 1);
  EXPECT_EQ(m["architecture"]["clip"]["embed_dim"], 32);
  EXPECT_EQ(m["open_set"]["score"], "max_logit");
  EXPECT_NEAR(m["open_set"]["unknown_threshold"].get<double>(), 0.2 * report.logit_scale, 1e-4);
  // Validated and embedded through the oneDNN fp32 kernel the pack runs with by default.
  EXPECT_EQ(report.precision, "fp32");
  EXPECT_EQ(m["open_set"]["precision"], "fp32");
  EXPECT_EQ(hesp::ExpressionModel::load(o.output_path)->precision(), "fp32");
  EXPECT_EQ(m["text"]["prompts"]["Sad"].size(), 2u);
  EXPECT_EQ(m["training"]["seed"], 7);

  // As a CLIP checkpoint: only the clip.* tensors, under OpenAI names.
  const auto tensors = hesp::clip::read_checkpoint_tensors(o.output_path);
  EXPECT_TRUE(tensors.count("visual.conv1.weight"));
  EXPECT_FALSE(tensors.count("temporal.class_embedding"));
  const auto encoder = hesp::ClipEncoder::load(o.output_path);
  EXPECT_EQ(encoder->input_size(), 32);
  EXPECT_EQ(encoder->embed_dim(), 32);

  // As an expression model.
  auto model = hesp::ExpressionModel::load(o.output_path);
  EXPECT_EQ(model->kind(), "emoclip");
  // The temporal transformer reads consecutive frames: skipping frames is refused.
  EXPECT_THROW(model->set_frame_subsample(2), hesp::SettingsError);
  EXPECT_EQ(model->class_names(), (std::vector<std::string>{"Happy", "Sad", "Surprise", "Angry"}));
  EXPECT_EQ(model->frames_per_clip(), 4);
  EXPECT_EQ(model->input_size(), 32);
  EXPECT_NEAR(model->default_unknown_threshold(), 0.2 * report.logit_scale, 1e-4);

  const auto items = hesp::data::read_annotations(path("test.txt")).items;
  hesp::data::ClipLoaderOptions lo;
  lo.num_segments = 4;
  lo.augment.size = 32;
  std::vector<hesp::data::ClipSample> samples;
  for (int i : {0, 3, 5}) samples.push_back(hesp::data::load_clip(items[i], lo));
  // A longer clip (all 8 frames) and a shorter one (2 frames) also classify.
  lo.num_segments = 8;
  samples.push_back(hesp::data::load_clip(items[1], lo));
  lo.num_segments = 2;
  samples.push_back(hesp::data::load_clip(items[2], lo));
  std::vector<hesp::ClipView> views;
  for (const auto& s : samples) views.push_back({s.frames.data(), s.n_frames, s.size});
  const auto results = model->classify(views, -std::numeric_limits<double>::infinity());
  ASSERT_EQ(results.size(), views.size());
  auto* emoclip = dynamic_cast<hesp::EmoClipModel*>(model.get());
  ASSERT_NE(emoclip, nullptr);
  const auto videos = emoclip->video_embeddings(views);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    ASSERT_EQ(r.logits.size(), 4u);
    double sum = 0.0;
    for (double p : r.class_scores) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-9);
    EXPECT_GE(r.label_id, 0);
    // logits = scale x cosine(video, class), the cosine within [-1, 1].
    for (int k = 0; k < 4; ++k) {
      double dot = 0.0;
      for (int x = 0; x < 32; ++x)
        dot += double(videos[i * 32 + x]) * emoclip->class_embeddings()[k * 32 + x];
      EXPECT_NEAR(r.logits[k], emoclip->logit_scale() * dot, 1e-4);
      EXPECT_LE(std::abs(dot), 1.0 + 1e-5);
    }
    EXPECT_DOUBLE_EQ(r.open_set_score, *std::max_element(r.logits.begin(), r.logits.end()));
  }
  // The long clip is cut to its segment centres: the same as giving those frames directly.
  lo.num_segments = 4;
  const auto centres = hesp::data::load_clip(items[1], lo);
  const auto direct = model->classify({{centres.frames.data(), 4, 32}}, 0.0);
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(direct[0].logits[k], results[3].logits[k], 1e-4);
  // Batching does not change a clip's result.
  const auto alone = model->classify({views[1]}, 0.0);
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(alone[0].logits[k], results[1].logits[k], 1e-4);
  // A threshold above every score calls everything unknown.
  for (const auto& r : model->classify(views, 1e9)) EXPECT_TRUE(r.is_unknown);

  // Classes added by name go through the stored template and the trained text tower.
  model->add_classes({"Fear"});
  EXPECT_EQ(model->class_names().size(), 5u);
  EXPECT_EQ(model->classify({views[0]}, 0.0)[0].logits.size(), 5u);
  EXPECT_THROW(model->add_classes({"Sad"}), hesp::SettingsError);
  EXPECT_THROW(model->classify({{nullptr, 4, 32}}, 0.0), hesp::InputError);
}

// CLIP's own objective (mean of the frame embeddings against the caption) on a ResNet tower
// trained from scratch: BatchNorm learns running statistics, no temporal model is made, and the
// pack is a clip-zeroshot pack whose scale is the learned one and whose clip embedding is the
// frame mean the loss used.
TEST_F(EmoClipTraining, FrameObjectiveOnAResNetWritesAClipZeroShotPack) {
  auto o = options("frames.safetensors");
  o.objective = hesp::EmoClipObjective::kFrames;
  o.geometry = "resnet=1-1-1-1,image=32,width=16,text-width=64,text-layers=1,embed=32,context=40";
  o.crop_min_area = 0.5;
  o.val_items = hesp::data::read_annotations(path("test.txt")).items;
  o.val_captions = hesp::captions_for_items(o.val_items, path("captions.tsv"));
  const auto report = hesp::train_emoclip(o);
  ASSERT_EQ(report.history.size(), 4u);
  EXPECT_LT(report.history.back().train_loss, report.history.front().train_loss)
      << "first epoch " << report.history.front().train_loss << ", last "
      << report.history.back().train_loss;
  EXPECT_FALSE(std::isnan(report.val_zero_shot_accuracy));
  EXPECT_EQ(report.geometry.rfind("resnet=1-1-1-1,image=32,width=16", 0), 0u) << report.geometry;

  const auto pack = hesp::ModelPack::open(o.output_path);
  EXPECT_EQ(pack.kind(), "clip-zeroshot");
  const auto& m = pack.manifest();
  EXPECT_EQ(m["architecture"]["type"], "openai-clip-resnet");
  EXPECT_EQ(m["clip_pooling"], "mean_embedding");
  EXPECT_EQ(m["frames_per_clip"], 8);  // the 4 training frames, raised to the project's 8
  EXPECT_EQ(m["training"]["objective"], "frames");
  EXPECT_EQ(m["training"]["crop_min_area"], 0.5);
  for (const auto& t : pack.tensors()) EXPECT_NE(t.name.rfind("temporal.", 0), 0u) << t.name;
  const auto tensors = hesp::clip::read_checkpoint_tensors(o.output_path);
  EXPECT_NEAR(std::exp(tensors.at("logit_scale").item<double>()), report.logit_scale, 1e-3);
  // Batch statistics were gathered while training (they start at 0 and 1).
  EXPECT_GT(tensors.at("visual.bn1.running_mean").abs().sum().item<double>(), 0.0);

  // The model's clip embedding is the normalised mean of the frames' embeddings.
  auto model = hesp::ExpressionModel::load(o.output_path);
  EXPECT_EQ(model->kind(), "clip-zeroshot");
  const auto items = hesp::data::read_annotations(path("test.txt")).items;
  hesp::data::ClipLoaderOptions lo;
  lo.num_segments = 8;
  lo.augment.size = 32;
  const auto sample = hesp::data::load_clip(items[0], lo);
  const auto r = model->classify({{sample.frames.data(), 8, 32}}, 0.0);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].logits.size(), 4u);
  const auto encoder = hesp::ClipEncoder::load(o.output_path);
  const hesp::Embeddings e = encoder->encode_rgb_crops(sample.frames.data(), 8, 32);
  std::vector<double> mean(32, 0.0);
  for (int f = 0; f < 8; ++f)
    for (int x = 0; x < 32; ++x) mean[x] += e.row(f)[x];
  double norm = 0.0;
  for (double v : mean) norm += v * v;
  auto* zeroshot = dynamic_cast<hesp::EmbeddingClassifier*>(model.get());
  ASSERT_NE(zeroshot, nullptr);
  for (int k = 0; k < 4; ++k) {
    double dot = 0.0;
    for (int x = 0; x < 32; ++x)
      dot += mean[x] / std::sqrt(norm) * zeroshot->class_embeddings()[k * 32 + x];
    EXPECT_NEAR(r[0].logits[k], report.logit_scale * dot, 1e-3);
  }
}

// From real-format CLIP weights the image tower stays frozen (EmoCLIP) while the text tower and
// the temporal model learn; an emoclip pack can in turn be the starting point of another run.
TEST_F(EmoClipTraining, FromACheckpointTheImageTowerStaysFrozen) {
  const std::string checkpoint =
      hesp::test::shared_path("clip/tiny-openai-format/clip_openai_format.pt");
  HESP_REQUIRE_FILE(checkpoint);
  auto o = options("finetuned.safetensors");
  o.init_checkpoint = checkpoint;
  o.geometry.clear();
  o.epochs = 1;
  const auto report = hesp::train_emoclip(o);
  EXPECT_TRUE(report.image_tower_frozen);
  const auto before = hesp::clip::read_checkpoint_tensors(checkpoint);
  int64_t visual = 0;
  for (const auto& [name, t] : before)
    if (name.rfind("visual.", 0) == 0) visual += t.numel();
  // Everything but the image tower and CLIP's own logit scale trains.
  EXPECT_EQ(report.trainable_parameters, report.total_parameters - visual - 1);
  const auto after = hesp::clip::read_checkpoint_tensors(o.output_path);
  ASSERT_EQ(before.size(), after.size());
  for (const char* name : {"visual.conv1.weight", "visual.proj", "visual.ln_post.weight"})
    EXPECT_TRUE(torch::equal(before.at(name).to(torch::kFloat), after.at(name))) << name;
  EXPECT_FALSE(
      torch::equal(before.at("text_projection").to(torch::kFloat), after.at("text_projection")));

  auto again = options("chained.safetensors");
  again.init_checkpoint = o.output_path;
  again.geometry.clear();
  again.epochs = 1;
  again.image_tower = hesp::ImageTowerMode::kTrained;
  const auto chained = hesp::train_emoclip(again);
  EXPECT_FALSE(chained.image_tower_frozen);
  EXPECT_EQ(hesp::ExpressionModel::load(again.output_path)->input_size(), 64);
}

TEST_F(EmoClipTraining, BadInputsGiveClearErrors) {
  auto expect_error = [](const hesp::EmoClipTrainOptions& o, const char* fragment, auto tag) {
    using Expected = decltype(tag);
    try {
      hesp::train_emoclip(o);
      ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
    } catch (const Expected& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  auto o = options("bad.safetensors");
  o.train_captions.pop_back();
  expect_error(o, "captions", hesp::SettingsError(""));

  o = options("bad.safetensors");
  o.precision = "fp16";
  expect_error(o, "auto, fp32 or bf16", hesp::SettingsError(""));
  if (!__builtin_cpu_supports("avx512bf16")) {
    o.precision = "bf16";
    expect_error(o, "AVX-512 BF16", hesp::SettingsError(""));
  }

  o = options("bad.safetensors");
  o.vocab_path = path("no-vocab.txt.gz");
  expect_error(o, "no-vocab.txt.gz", hesp::FileNotFoundError(""));

  o = options("bad.safetensors");
  o.geometry = "image=32,patch=15";
  expect_error(o, "patch", hesp::SettingsError(""));
  o.geometry = "image=32,wings=2";
  expect_error(o, "wings", hesp::SettingsError(""));

  o = options("bad.safetensors");
  o.geometry.clear();
  expect_error(o, "geometry", hesp::SettingsError(""));

  o = options("bad.safetensors");
  o.class_descriptions.clear();
  expect_error(o, "descriptions", hesp::SettingsError(""));

  o = options("bad.safetensors");
  o.device = "tpu";
  expect_error(o, "tpu", hesp::SettingsError(""));

  o = options("bad.safetensors");
  o.init_checkpoint = path("missing.pt");
  expect_error(o, "missing.pt", hesp::FileNotFoundError(""));

  o = options("bad.safetensors");
  o.batch_size = 1;
  expect_error(o, "batch size", hesp::SettingsError(""));
  EXPECT_FALSE(fs::exists(path("bad.safetensors")));

  // Captions file problems name the file and the clip.
  const auto items = hesp::data::read_annotations(path("train.txt")).items;
  std::ofstream(path("partial.tsv")) << items[0].rel_path << "\tA person smiles.\n";
  try {
    hesp::captions_for_items(items, path("partial.tsv"));
    FAIL() << "an item without a caption went through";
  } catch (const hesp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(items[1].rel_path), std::string::npos) << e.what();
  }
  std::ofstream(path("notab.tsv")) << "clips/x no tab here\n";
  EXPECT_THROW(hesp::captions_for_items(items, path("notab.tsv")), hesp::CorruptFileError);
  EXPECT_THROW(hesp::captions_for_items(items, path("absent.tsv")), hesp::FileNotFoundError);
}

// The shipped MAFW descriptions parse and name the 11 MAFW classes in id order.
TEST(MafwDescriptions, NameEveryMafwClassInOrder) {
  const auto d =
      hesp::read_class_descriptions(hesp::test::source_path("data/descriptions/mafw.tsv"));
  const auto& names = hesp::data::mafw_class_names();
  ASSERT_EQ(d.size(), names.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(d[i].first, names[i]);
    EXPECT_GE(d[i].second.size(), 1u);
  }
}

}  // namespace

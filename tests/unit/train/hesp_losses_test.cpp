// SPDX-License-Identifier: LGPL-2.1-or-later
// HESP's building blocks on tiny hand-made tensors: the five losses against values worked out by
// hand, the logits, the temporal pooling, the prompt placement, the name/label pairing of each
// variant, the learning-rate schedule and the optimiser's arithmetic. No data files needed.
#include "train/hesp_losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "hesp/error.h"
#include "nets/hesp_network.h"
#include "train/hesp_trainer.h"

namespace {

using namespace hesp::train;
using namespace hesp::nets;  // the network these losses are computed on

at::Tensor t(std::vector<float> v) { return torch::tensor(v); }
at::Tensor rows(std::vector<std::vector<float>> r) {
  std::vector<at::Tensor> out;
  for (const auto& x : r) out.push_back(torch::tensor(x));
  return torch::stack(out);
}
at::Tensor labels(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }
double softplus(double x) { return std::log1p(std::exp(x)); }

TEST(HespLosses, ClipCrossEntropy) {
  const at::Tensor logits = rows({{2, 0}, {0, 1}});
  // -log(e^2 / (e^2 + 1)) and -log(e / (1 + e)).
  const double want = 0.5 * (softplus(-2) + softplus(-1));
  EXPECT_NEAR(hesp_clip_loss(logits, labels({0, 1})).item<double>(), want, 1e-6);
  EXPECT_NEAR(hesp_ensemble_loss(logits, labels({0, 1})).item<double>(), want, 1e-6);
}

TEST(HespLosses, SupervisedContrastive) {
  // Unit directions (1,0), (0,1), (1,0) at different lengths; clips 0 and 2 share a class.
  const at::Tensor v = rows({{2, 0}, {0, 3}, {5, 0}});
  // Anchor 0: positive 2 at z.z/tau = 2, the other candidate at 0: -log(e^2 / (e^2 + 1)).
  // Anchor 2 likewise; anchor 1 has no positive and does not count.
  EXPECT_NEAR(hesp_supcon_loss(v, labels({0, 1, 0}), 0.5).item<double>(), softplus(-2), 1e-6);
  // Temperature 1: e^1 against e^0.
  EXPECT_NEAR(hesp_supcon_loss(v, labels({0, 1, 0}), 1.0).item<double>(), softplus(-1), 1e-6);
  // No anchor with a positive: 0, and still differentiable.
  at::Tensor w = v.clone().requires_grad_(true);
  const at::Tensor none = hesp_supcon_loss(w, labels({0, 1, 2}));
  EXPECT_EQ(none.item<double>(), 0.0);
  none.backward();
  EXPECT_TRUE(w.grad().defined());
}

TEST(HespLosses, NegativeLogitsAndArpl) {
  const at::Tensor v = rows({{1, 2}});
  const at::Tensor centers = rows({{0, 0}, {1, 1}});
  const at::Tensor ne = negative_logits(v, centers);
  // |v - c|^2 / 2 - v.c: 5/2 - 0 and 1/2 - 3.
  EXPECT_NEAR(ne[0][0].item<double>(), 2.5, 1e-6);
  EXPECT_NEAR(ne[0][1].item<double>(), -2.5, 1e-6);
  // Label 1: CE = log(1 + e^5); d_y = 0.5, R = 0.2: margin max(0, 0.5 - 0.2 + 1) = 1.3.
  const at::Tensor radius = torch::tensor(0.2f);
  const double got = hesp_negative_loss(ne, v, centers, labels({1}), radius, 0.1).item<double>();
  EXPECT_NEAR(got, softplus(5) + 0.13, 1e-5);
  // A radius beyond d_y + 1 leaves only the cross-entropy.
  EXPECT_NEAR(hesp_negative_loss(ne, v, centers, labels({1}), torch::tensor(3.f)).item<double>(),
              softplus(5), 1e-5);
}

TEST(HespLosses, NegativePromptAlignment) {
  const at::Tensor centers = rows({{1, 0}, {0, 1}});
  const at::Tensor text = rows({{1, 0}, {1, 1}});
  const double r2 = std::sqrt(2.0);
  // logits = 2 cos = [[2, r2], [0, r2]]; rows: targets on the diagonal, then the columns.
  const double by_row = 0.5 * (softplus(r2 - 2) + softplus(-r2));
  const double by_col = 0.5 * (softplus(-2) + std::log(2.0));
  EXPECT_NEAR(hesp_negative_prompt_loss(centers, text, torch::tensor(2.f)).item<double>(),
              0.5 * (by_row + by_col), 1e-6);
}

TEST(HespLosses, TotalIsTheSumOfTheTerms) {
  HespOutputs o;
  o.video = rows({{1, 2}, {2, 0}, {0.5, 1}});
  o.text_features = rows({{1, 0}, {0, 1}});
  o.centers = rows({{0, 0}, {1, 1}});
  o.clip_logits = cosine_logits(o.video, o.text_features, torch::tensor(10.f));
  o.ne_logits = negative_logits(o.video, o.centers);
  o.ensemble = 0.5 * (o.clip_logits + o.ne_logits);
  const at::Tensor y = labels({1, 0, 1});
  const HespLoss loss =
      hesp_total_loss(o, y, rows({{1, 0}, {1, 1}}), torch::tensor(10.f), torch::tensor(0.f));
  ASSERT_EQ(loss.terms.size(), 5u);
  double sum = 0;
  for (const auto& [name, v] : loss.terms) sum += v;
  EXPECT_NEAR(loss.total.item<double>(), sum, 1e-5);
  EXPECT_NEAR(loss.terms.at("clip"), hesp_clip_loss(o.clip_logits, y).item<double>(), 1e-6);
  EXPECT_NEAR(loss.terms.at("supcon"), hesp_supcon_loss(o.video, y).item<double>(), 1e-6);
}

TEST(HespLogits, CosineLogitsUseTheScale) {
  const at::Tensor l = cosine_logits(rows({{3, 4}}), rows({{1, 0}, {0, 2}}), torch::tensor(100.f));
  EXPECT_NEAR(l[0][0].item<double>(), 60.0, 1e-4);
  EXPECT_NEAR(l[0][1].item<double>(), 80.0, 1e-4);
}

TEST(HespPooling, ReleasedIsTheMeanAndPaperStartsThere) {
  const at::Tensor f =
      torch::randn({2, 5, 8}, torch::Generator(at::make_generator<at::CPUGeneratorImpl>(1)));
  const at::Tensor mean = f.mean(1);
  const at::Tensor zero_q = torch::zeros({8}), zero_g = torch::zeros({});
  EXPECT_TRUE(torch::allclose(pool_frames(f, HespVariant::kReleased, zero_q, zero_g), mean));
  EXPECT_TRUE(
      torch::allclose(pool_frames(f, HespVariant::kPaper, zero_q, zero_g), mean, 1e-5, 1e-6));
}

TEST(HespPooling, AttentionWeightsFramesThatLeaveTheMean) {
  // Two frames (1,0) and (3,0): deviations -1 and +1 along x. q = (1,0): scores -/+ 1/sqrt(2).
  const at::Tensor f = rows({{1, 0}, {3, 0}}).unsqueeze(0);
  const at::Tensor v = pool_frames(f, HespVariant::kPaper, t({1, 0}), torch::zeros({}));
  const double s = 1.0 / std::sqrt(2.0);
  const double a1 = std::exp(s) / (std::exp(s) + std::exp(-s));
  EXPECT_NEAR(v[0][0].item<double>(), (1 - a1) * 1 + a1 * 3, 1e-5);
  // The gain alone weights both equally here (same deviation size), so: the mean.
  const at::Tensor g = pool_frames(f, HespVariant::kPaper, t({0, 0}), torch::tensor(5.f));
  EXPECT_NEAR(g[0][0].item<double>(), 2.0, 1e-5);
}

TEST(HespVisualPrompt, PlacedAtItsWindowOnly) {
  const at::Tensor images = torch::zeros({2, 3, 8, 8});
  const at::Tensor prompt = torch::ones({3, 2, 2});
  const at::Tensor out = add_visual_prompt(images, prompt, {5, 1, 2});
  EXPECT_EQ(out.sum().item<double>(), 2 * 3 * 4);
  EXPECT_EQ(out[1][2][1][5].item<double>(), 1.0);  // y = 1, x = 5
  EXPECT_EQ(out[1][2][2][6].item<double>(), 1.0);
  EXPECT_EQ(out[1][2][3][6].item<double>(), 0.0);
  EXPECT_EQ(out[0][0][1][4].item<double>(), 0.0);
}

TEST(HespVisualPrompt, BestWindowStaysInsideTheImage) {
  at::Tensor s = torch::zeros({8, 8});
  s[7][7] = 10;  // a corner: the window must be clamped to end there
  PromptLocation l = best_window(s, 3);
  EXPECT_EQ(l.x, 5);
  EXPECT_EQ(l.y, 5);
  EXPECT_EQ(l.side, 3);
  s = torch::zeros({8, 8});
  s.slice(0, 2, 4).slice(1, 1, 3).fill_(1);  // a 2 x 2 block at y 2..3, x 1..2
  l = best_window(s, 2);
  EXPECT_EQ(l.x, 1);
  EXPECT_EQ(l.y, 2);
  EXPECT_THROW(best_window(s, 9), hesp::SettingsError);
  EXPECT_EQ(visual_prompt_side(224), 56);
}

TEST(HespVariants, NamePairing) {
  const std::vector<std::string> names = {"Sad", "Angry", "Happy"};
  EXPECT_EQ(prompt_class_names(names, HespVariant::kPaper), names);
  // Released: label 0 gets "Angry" although label 0 is Sad.
  EXPECT_EQ(prompt_class_names(names, HespVariant::kReleased),
            (std::vector<std::string>{"Angry", "Happy", "Sad"}));
  // Already alphabetical: both variants agree.
  const std::vector<std::string> sorted = {"Angry", "Fear", "Sad"};
  EXPECT_EQ(prompt_class_names(sorted, HespVariant::kReleased), sorted);
  EXPECT_EQ(parse_hesp_variant("released"), HespVariant::kReleased);
  EXPECT_STREQ(hesp_variant_name(HespVariant::kPaper), "paper");
  try {
    parse_hesp_variant("offical");
    FAIL() << "no error for an unknown variant";
  } catch (const hesp::SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("offical"), std::string::npos);
  }
}

TEST(HespOptimisation, LearningRateSchedule) {
  EXPECT_DOUBLE_EQ(hesp_learning_rate(0.01, 0, 100), 0.01);
  EXPECT_DOUBLE_EQ(hesp_learning_rate(0.01, 29, 100), 0.01);
  EXPECT_NEAR(hesp_learning_rate(0.01, 30, 100), 1e-3, 1e-15);
  EXPECT_NEAR(hesp_learning_rate(0.01, 60, 100), 1e-4, 1e-15);
  EXPECT_NEAR(hesp_learning_rate(0.01, 89, 100), 1e-4, 1e-15);
  EXPECT_NEAR(hesp_learning_rate(0.01, 90, 100), 1e-5, 1e-15);
  // 10 epochs: milestones 3, 6, 9. One epoch: no decay at all.
  EXPECT_NEAR(hesp_learning_rate(1.0, 3, 10), 0.1, 1e-15);
  EXPECT_DOUBLE_EQ(hesp_learning_rate(1.0, 0, 1), 1.0);
}

TEST(HespOptimisation, SgdMatchesTorchSemantics) {
  at::Tensor p = torch::ones({1}).requires_grad_(true);
  HespSgd sgd({p}, 0.9, 0.1);
  p.mutable_grad() = torch::full({1}, 2.f);
  sgd.step(0.5);
  // d = 2 + 0.1 * 1 = 2.1 -> buffer 2.1 -> p = 1 - 0.5 * 2.1.
  EXPECT_NEAR(p.item<double>(), -0.05, 1e-6);
  p.mutable_grad() = torch::full({1}, 2.f);
  sgd.step(0.5);
  // d = 2 - 0.005 = 1.995; buffer = 0.9 * 2.1 + 1.995 = 3.885; p = -0.05 - 1.9425.
  EXPECT_NEAR(p.item<double>(), -1.9925, 1e-5);
  // No gradient: untouched.
  p.mutable_grad() = at::Tensor();
  sgd.step(0.5);
  EXPECT_NEAR(p.item<double>(), -1.9925, 1e-5);
}

TEST(HespOptimisation, PromptStepHasFixedLength) {
  at::Tensor p = torch::zeros({3}).requires_grad_(true);
  p.mutable_grad() = t({3, 4, 0});
  prompt_step(p, 10.0);
  EXPECT_NEAR(p[0].item<double>(), -6.0, 1e-5);
  EXPECT_NEAR(p[1].item<double>(), -8.0, 1e-5);
  p.mutable_grad() = torch::zeros({3});  // zero gradient: no step, no NaN
  prompt_step(p, 10.0);
  EXPECT_NEAR(p[1].item<double>(), -8.0, 1e-5);
  EXPECT_DOUBLE_EQ(default_prompt_step(224), 50.0);
  EXPECT_DOUBLE_EQ(default_prompt_step(112), 25.0);
}

}  // namespace

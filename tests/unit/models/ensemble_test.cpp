// SPDX-License-Identifier: LGPL-2.1-or-later
// Ensemble packs made of the default pack and the Human emotion pack: the averaging of the
// members' probabilities, the label set (intersection, first member's order), member weights,
// crops for members with another face margin, the ensemble's own open-set score and threshold,
// and what the builder refuses. Needs both npm packages in the cache; skips without them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "models_support.h"

namespace hesp {
namespace {

using test::converted_human_pack;
using test::converted_pack;
using test::faceapi_package;
using test::human_models_package;
using test::scratch;

constexpr double kInf = std::numeric_limits<double>::infinity();

// A copy of a pack with some manifest fields changed (same tensors).
std::string rewritten(const std::string& pack_path, const std::string& name,
                      const std::function<void(nlohmann::json&)>& edit) {
  const ModelPack pack = ModelPack::open(pack_path);
  nlohmann::json manifest = pack.manifest();
  edit(manifest);
  const std::string out = scratch().file(name);
  write_pack(out, manifest, pack.tensors());
  return out;
}

class EnsembleTest : public ::testing::Test {
 public:
  // An ensemble pack of these members (equal weights) and classes, written directly: the suite's
  // calibrated manifest with other members, without a calibration of its own.
  static std::string ensemble_of(const std::vector<std::string>& members,
                                 const std::vector<std::string>& classes, const std::string& name) {
    const ModelPack base = ModelPack::open(report_->output_path);
    nlohmann::json manifest = base.manifest();
    manifest["classes"] = classes;
    manifest["members"] = nlohmann::json::array();
    static std::vector<std::string> files;  // the tensors' bytes, alive until the pack is written
    files.clear();
    for (const auto& m : members) files.push_back(test::read_bytes(m));
    std::vector<TensorInfo> tensors;
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::string tensor = "member." + std::to_string(i);
      manifest["members"].push_back({{"tensor", tensor}, {"weight", 1.0}});
      tensors.push_back({tensor,
                         DType::kU8,
                         {static_cast<std::int64_t>(files[i].size())},
                         files[i].data(),
                         files[i].size()});
    }
    const std::string out = scratch().file(name);
    write_pack(out, manifest, tensors);
    return out;
  }

 protected:
  static void SetUpTestSuite() {
    if (!test::file_exists(human_models_package() + "/models/emotion.bin") ||
        !test::file_exists(faceapi_package() + "/model/face_expression_model.bin"))
      return;
    EnsembleBuildOptions options;
    options.members = {converted_pack(), converted_human_pack()};
    options.output_path = scratch().file("ensemble.safetensors");
    options.calibration_photos = faceapi_package() + "/demo";
    report_ = new EnsembleBuildReport(build_ensemble(options));
  }
  static void TearDownTestSuite() {
    delete report_;
    report_ = nullptr;
  }

  void SetUp() override {
    HESP_REQUIRE_FILE(human_models_package() + "/models/emotion.bin");
    HESP_REQUIRE_FILE(faceapi_package() + "/model/face_expression_model.bin");
    // Real faces (a smile, a closed-mouth face) and a detector false positive, as 112 px crops
    // with the ensemble's margin, two frames each.
    const std::pair<int, Box> boxes[] = {
        {3, {1019, 219, 293, 293}}, {3, {552, 342, 245, 245}}, {1, {1467, 571, 125, 125}}};
    for (const auto& [n, box] : boxes) {
      const auto photo = test::load_demo_photo(n);
      std::vector<std::uint8_t> clip = test::crop(photo, box, 0.1f);
      const auto second = test::crop(photo, Box{box.x + 4, box.y - 3, box.width, box.height}, 0.1f);
      clip.insert(clip.end(), second.begin(), second.end());
      clips_.push_back(std::move(clip));
    }
  }

  std::vector<ClipView> views() const {
    std::vector<ClipView> v;
    for (const auto& c : clips_) v.push_back({c.data(), 2, 112});
    return v;
  }

  // A member's probabilities of the given classes, renormalised over them.
  static std::vector<double> restricted(const ExpressionResult& r,
                                        const std::vector<std::string>& member_classes,
                                        const std::vector<std::string>& classes) {
    std::vector<double> p;
    double sum = 0.0;
    for (const auto& c : classes) {
      const auto at = std::find(member_classes.begin(), member_classes.end(), c);
      p.push_back(r.class_scores[static_cast<std::size_t>(at - member_classes.begin())]);
      sum += p.back();
    }
    for (double& v : p) v /= sum;
    return p;
  }

  static EnsembleBuildReport* report_;
  std::vector<std::vector<std::uint8_t>> clips_;
};

EnsembleBuildReport* EnsembleTest::report_ = nullptr;

TEST_F(EnsembleTest, AveragesTheMembersProbabilitiesInTheFirstMembersOrder) {
  auto ensemble = ExpressionModel::load(report_->output_path);
  auto faceapi = ExpressionModel::load(converted_pack());
  auto human = ExpressionModel::load(converted_human_pack());
  EXPECT_EQ(ensemble->kind(), "ensemble");
  EXPECT_EQ(ensemble->class_names(), faceapi->class_names());
  EXPECT_EQ(ensemble->input_size(), 112);
  EXPECT_DOUBLE_EQ(ensemble->face_margin(), 0.1);
  const auto e = ensemble->classify(views(), -kInf);
  const auto f = faceapi->classify(views(), -kInf);
  const auto h = human->classify(views(), -kInf);
  const auto& classes = ensemble->class_names();
  for (std::size_t i = 0; i < clips_.size(); ++i) {
    const auto pf = restricted(f[i], faceapi->class_names(), classes);
    const auto ph = restricted(h[i], human->class_names(), classes);
    double best = 0.0;
    for (std::size_t k = 0; k < classes.size(); ++k) {
      EXPECT_NEAR(e[i].class_scores[k], 0.5 * pf[k] + 0.5 * ph[k], 1e-9)
          << "clip " << i << ", " << classes[k];
      best = std::max(best, e[i].class_scores[k]);
    }
    // Its open-set score is the largest averaged probability.
    EXPECT_NEAR(e[i].open_set_score, best, 1e-9);
  }
  // The smile is happy for the ensemble as for both members.
  EXPECT_EQ(e[0].label, "happy");
}

TEST_F(EnsembleTest, MemberOrderChangesTheClassOrderOnly) {
  auto a = ExpressionModel::load(report_->output_path);
  auto human = ExpressionModel::load(converted_human_pack());
  auto b = ExpressionModel::load(ensemble_of({converted_human_pack(), converted_pack()},
                                             human->class_names(), "human-first.safetensors"));
  EXPECT_EQ(b->class_names()[0], "angry");
  const auto ra = a->classify(views(), -kInf);
  const auto rb = b->classify(views(), -kInf);
  for (std::size_t i = 0; i < clips_.size(); ++i) {
    EXPECT_EQ(ra[i].label, rb[i].label);
    for (std::size_t k = 0; k < a->class_names().size(); ++k) {
      const auto& names = b->class_names();
      const auto at = std::find(names.begin(), names.end(), a->class_names()[k]) - names.begin();
      EXPECT_NEAR(ra[i].class_scores[k], rb[i].class_scores[at], 1e-9);
    }
  }
}

TEST_F(EnsembleTest, WeightsSelectAMember) {
  const std::string only_human =
      rewritten(report_->output_path, "only-human.safetensors", [](nlohmann::json& m) {
        m["members"][0]["weight"] = 0.0;
        m["members"][1]["weight"] = 3.0;
      });
  auto ensemble = ExpressionModel::load(only_human);
  auto human = ExpressionModel::load(converted_human_pack());
  const auto e = ensemble->classify(views(), -kInf);
  const auto h = human->classify(views(), -kInf);
  for (std::size_t i = 0; i < clips_.size(); ++i) {
    const auto ph = restricted(h[i], human->class_names(), ensemble->class_names());
    for (std::size_t k = 0; k < ph.size(); ++k) EXPECT_NEAR(e[i].class_scores[k], ph[k], 1e-9);
  }
}

TEST_F(EnsembleTest, KeepsTheClassesEveryMemberKnows) {
  // The Human pack with "disgusted" renamed: the ensemble keeps the other six classes and each
  // member's probabilities are renormalised over them.
  const std::string renamed = rewritten(converted_human_pack(), "human-contempt.safetensors",
                                        [](nlohmann::json& m) { m["classes"][1] = "contempt"; });
  EnsembleBuildOptions options;
  options.members = {converted_pack(), renamed};
  options.output_path = scratch().file("ensemble-six.safetensors");
  options.calibration_photos = faceapi_package() + "/demo";
  const EnsembleBuildReport r = build_ensemble(options);
  EXPECT_EQ(r.classes,
            (std::vector<std::string>{"neutral", "happy", "sad", "angry", "fearful", "surprised"}));
  auto ensemble = ExpressionModel::load(r.output_path);
  auto faceapi = ExpressionModel::load(converted_pack());
  auto human = ExpressionModel::load(renamed);
  const auto e = ensemble->classify(views(), -kInf);
  const auto f = faceapi->classify(views(), -kInf);
  const auto h = human->classify(views(), -kInf);
  for (std::size_t i = 0; i < clips_.size(); ++i) {
    const auto pf = restricted(f[i], faceapi->class_names(), r.classes);
    const auto ph = restricted(h[i], human->class_names(), r.classes);
    double sum = 0.0;
    for (std::size_t k = 0; k < r.classes.size(); ++k) {
      EXPECT_NEAR(e[i].class_scores[k], 0.5 * pf[k] + 0.5 * ph[k], 1e-9);
      sum += e[i].class_scores[k];
    }
    EXPECT_NEAR(sum, 1.0, 1e-9);
  }
}

TEST_F(EnsembleTest, AMemberWithLessMarginSeesTheCentreOfTheCrop) {
  const std::string tight = rewritten(converted_human_pack(), "human-tight.safetensors",
                                      [](nlohmann::json& m) { m["input"]["face_margin"] = 0.0; });
  const std::string ensemble_path =
      ensemble_of({converted_pack(), tight}, report_->classes, "ensemble-tight.safetensors");
  auto ensemble = ExpressionModel::load(ensemble_path);
  auto faceapi = ExpressionModel::load(converted_pack());
  auto human = ExpressionModel::load(tight);
  // The centre 1 / 1.2 of the 112 px crop: 93 px from (9, 9).
  std::vector<std::vector<std::uint8_t>> centres;
  std::vector<ClipView> centre_views;
  for (const auto& c : clips_) {
    std::vector<std::uint8_t> out;
    for (int f = 0; f < 2; ++f)
      for (int y = 9; y < 9 + 93; ++y) {
        const std::uint8_t* row = c.data() + f * 112 * 112 * 3 + (y * 112 + 9) * 3;
        out.insert(out.end(), row, row + 93 * 3);
      }
    centres.push_back(std::move(out));
    centre_views.push_back({centres.back().data(), 2, 93});
  }
  const auto e = ensemble->classify(views(), -kInf);
  const auto f = faceapi->classify(views(), -kInf);
  const auto h = human->classify(centre_views, -kInf);
  for (std::size_t i = 0; i < clips_.size(); ++i) {
    const auto pf = restricted(f[i], faceapi->class_names(), ensemble->class_names());
    const auto ph = restricted(h[i], human->class_names(), ensemble->class_names());
    for (std::size_t k = 0; k < pf.size(); ++k)
      EXPECT_NEAR(e[i].class_scores[k], 0.5 * pf[k] + 0.5 * ph[k], 1e-9);
  }
}

TEST_F(EnsembleTest, HasItsOwnCalibratedThreshold) {
  const ModelPack pack = ModelPack::open(report_->output_path);
  EXPECT_EQ(pack.header().score_rule, "max_softmax");
  const double t = pack.header().unknown_threshold;
  EXPECT_EQ(t, report_->calibration.chosen_threshold);
  EXPECT_GT(t, 1.0 / 7.0);
  EXPECT_LT(t, 1.0);
  EXPECT_TRUE(pack.manifest()["open_set"].contains("calibration"));
  auto ensemble = ExpressionModel::load(report_->output_path);
  EXPECT_EQ(ensemble->default_unknown_threshold(), t);
  const auto r = ensemble->classify(views(), t);
  for (const auto& x : r) EXPECT_EQ(x.is_unknown, x.confidence < t) << x.confidence;
  // Above every possible probability, everything is unknown.
  for (const auto& x : ensemble->classify(views(), 1.0 + 1e-9)) EXPECT_EQ(x.label, "unknown");
}

TEST_F(EnsembleTest, BuilderRefusesWhatCannotBeAnEnsemble) {
  EnsembleBuildOptions options;
  options.output_path = scratch().file("refused.safetensors");
  options.calibration_photos = faceapi_package() + "/demo";
  options.members = {converted_pack()};
  EXPECT_THROW(build_ensemble(options), SettingsError);
  options.members = {converted_pack(), converted_human_pack()};
  options.weights = {1.0};
  EXPECT_THROW(build_ensemble(options), SettingsError);
  options.weights = {0.0, 0.0};
  EXPECT_THROW(build_ensemble(options), SettingsError);
  options.weights = {};
  const std::string strangers =
      rewritten(converted_human_pack(), "strangers.safetensors", [](nlohmann::json& m) {
        for (auto& c : m["classes"]) c = "x-" + c.get<std::string>();
      });
  options.members = {converted_pack(), strangers};
  try {
    build_ensemble(options);
    FAIL() << "built an ensemble without shared classes";
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("share no class"), std::string::npos) << e.what();
  }
  options.members = {converted_pack(), scratch().file("missing.safetensors")};
  EXPECT_THROW(build_ensemble(options), FileNotFoundError);
  EXPECT_FALSE(test::file_exists(options.output_path));
}

}  // namespace
}  // namespace hesp

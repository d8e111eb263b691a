// SPDX-License-Identifier: LGPL-2.1-or-later
// The LibTorch port of face-api.js's expression network against the network in its own runtime
// (TensorFlow.js, cpu backend, via tests/reference/faceapi_reference.js) on real face crops.
// Needs node and the runtime installed by tests/reference/install_tfjs.sh; skips without them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hesp/expression_model.h"
#include "models_support.h"

namespace hesp {
namespace {

using test::converted_pack;
using test::faceapi_package;
using test::scratch;

std::string tfjs_runtime() {
  return test::env_or("HESP_TFJS_DIR", test::cache_path("npm/tfjs-reference").c_str());
}

bool have_node() { return std::system("node --version >/dev/null 2>&1") == 0; }

std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << "command failed: " << command;
  return out;
}

struct Crop {
  std::string what;
  std::vector<std::uint8_t> rgb;
};

// Real faces of every demo photo, two detector false positives and an image with no structure:
// the port must agree on inputs far from faces too, where the open-set score matters.
std::vector<Crop> reference_crops() {
  struct Spec {
    int photo;
    Box box;
    float margin;
  };
  const Spec specs[] = {
      {1, {362, 367, 238, 238}, 0.1f},  {2, {1404, 164, 236, 236}, 0.1f},
      {3, {1019, 219, 293, 293}, 0.1f}, {3, {552, 342, 245, 245}, 0.0f},
      {3, {1485, 315, 244, 244}, 0.2f}, {4, {932, 201, 226, 226}, 0.1f},
      {5, {644, 458, 158, 158}, 0.1f},  {5, {355, 894, 239, 239}, 0.1f},
      {6, {620, 349, 254, 254}, 0.1f},  {6, {1147, 331, 256, 256}, 0.1f},
      {1, {1467, 571, 125, 125}, 0.1f}, {6, {932, 480, 111, 111}, 0.1f},
  };
  std::vector<Crop> crops;
  for (const Spec& s : specs) {
    const auto photo = test::load_demo_photo(s.photo);
    crops.push_back({"sample" + std::to_string(s.photo) + " box at " +
                         std::to_string(static_cast<int>(s.box.x)) + "," +
                         std::to_string(static_cast<int>(s.box.y)),
                     test::crop(photo, s.box, s.margin)});
  }
  Crop ramp{"colour ramp", std::vector<std::uint8_t>(112 * 112 * 3)};
  for (int y = 0; y < 112; ++y)
    for (int x = 0; x < 112; ++x) {
      std::uint8_t* p = &ramp.rgb[(y * 112 + x) * 3];
      p[0] = static_cast<std::uint8_t>(x * 2);
      p[1] = static_cast<std::uint8_t>(y * 2);
      p[2] = static_cast<std::uint8_t>(255 - x - y);
    }
  crops.push_back(ramp);
  return crops;
}

TEST(TfjsReference, PortMatchesFaceApiInTensorFlowJs) {
  HESP_REQUIRE_FILE(faceapi_package() + "/model/face_expression_model.bin");
  HESP_REQUIRE_FILE(test::demo_photo(6));
  if (!have_node()) GTEST_SKIP() << "node is not installed; the TensorFlow.js reference cannot run";
  const std::string runtime = tfjs_runtime();
  if (!test::file_exists(runtime + "/node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js"))
    GTEST_SKIP() << "TensorFlow.js runtime missing in " << runtime
                 << " (run tests/reference/install_tfjs.sh " << runtime << ")";

  const auto crops = reference_crops();
  std::string command = "node '" + test::source_path("tests/reference/faceapi_reference.js") +
                        "' --runtime '" + runtime + "' --model '" + faceapi_package() + "/model'";
  for (std::size_t i = 0; i < crops.size(); ++i) {
    const std::string file = scratch().file("crop" + std::to_string(i) + ".rgb");
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(crops[i].rgb.data()),
               static_cast<std::streamsize>(crops[i].rgb.size()));
    command += " '" + file + "'";
  }
  command += " 2>/dev/null";
  const nlohmann::json reference = nlohmann::json::parse(run(command));
  ASSERT_EQ(reference["backend"], "cpu");
  ASSERT_EQ(reference["results"].size(), crops.size());

  auto model = ExpressionModel::load(converted_pack());
  std::vector<ClipView> clips;
  for (const auto& c : crops) clips.push_back({c.rgb.data(), 1, 112});
  const auto ours = model->classify(clips, -INFINITY);

  double worst_p = 0.0, worst_l = 0.0;
  int argmax_agree = 0;
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
    argmax_agree += ours[i].label_id == static_cast<int>(ref_best);
  }
  EXPECT_EQ(argmax_agree, static_cast<int>(crops.size()));
  std::printf("%zu crops: largest difference %.2e in probability, %.2e in logit\n", crops.size(),
              worst_p, worst_l);
}

}  // namespace
}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// What the tests of face-api's face networks share: the london-dev portraits with their labelled
// face boxes, face crops of them, and running a tests/reference/*.js script on crops.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hesp/face_detector.h"
#include "hesp/image.h"
#include "image_views.h"
#include "scratch.h"
#include "test_data.h"

namespace hesp::test {

inline std::string faceapi_model_folder() { return cache_path("npm/face-api-1.7.15/model"); }
inline std::string london_dev() { return shared_path("faces/london-dev"); }
inline std::string tfjs_runtime_dir() {
  return env_or("HESP_TFJS_DIR", cache_path("npm/tfjs-reference").c_str());
}

// One portrait of labels.csv: the photo (BGR) and its face box.
struct Portrait {
  std::string file;  // e.g. 001_neutral.jpg
  cv::Mat bgr;
  Box face;
};

// The first `count` rows of labels.csv (all when count is 0); empty when the folder is missing.
// The face box is the most confident face face-api's tiny face detector finds (what the pipeline
// would feed the landmark net), else the labelled box (labels.csv boxes only the neutral
// portraits).
inline std::vector<Portrait> london_portraits(std::size_t count = 0) {
  std::vector<Portrait> out;
  DetectorConfig config;
  config.kind = DetectorKind::kFaceApiTiny;
  config.model_path = faceapi_model_folder();
  config.sensitivity = 0.8;  // at the default 0.5 one smiling face (a tilted head) is missed
  const auto detector = make_face_detector(config);
  std::ifstream csv(london_dev() + "/labels.csv");
  std::string line;
  std::getline(csv, line);  // header: file,label,x_min,y_min,x_max,y_max
  while (std::getline(csv, line) && (count == 0 || out.size() < count)) {
    std::stringstream row(line);
    std::string file, label, v[4];
    std::getline(row, file, ',');
    std::getline(row, label, ',');
    for (auto& s : v) std::getline(row, s, ',');
    Portrait p{file, cv::imread(london_dev() + "/" + file, cv::IMREAD_COLOR), {}};
    if (p.bgr.empty()) continue;
    const auto faces = detector->detect(packed_view(p.bgr, PixelFormat::kBGR));
    if (!faces.empty()) {
      p.face = std::max_element(faces.begin(), faces.end(), [](const auto& a, const auto& b) {
                 return a.confidence < b.confidence;
               })->box;
    } else if (!v[3].empty()) {
      const float x0 = std::stof(v[0]), y0 = std::stof(v[1]);
      p.face = {x0, y0, std::stof(v[2]) - x0, std::stof(v[3]) - y0};
    } else {
      continue;
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Why the TensorFlow.js reference cannot run here, or "" when it can.
inline std::string reference_unavailable() {
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not installed";
  const std::string faceapi =
      tfjs_runtime_dir() + "/node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js";
  if (!file_exists(faceapi))
    return "the TensorFlow.js runtime is not installed (run tests/reference/install_tfjs.sh " +
           tfjs_runtime_dir() + ")";
  return "";
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `node SCRIPT ARGS WxH:crop.rgb...` on the RGB crops and parses its JSON; the test fails
// (and the result is null) when the script fails.
inline nlohmann::json run_reference(const std::string& script, const std::string& args,
                                    const std::vector<cv::Mat>& rgb_crops) {
  TempDir tmp;
  std::string command =
      "node " + shell_quote(source_path("tests/reference/" + script)) + " " + args;
  for (std::size_t i = 0; i < rgb_crops.size(); ++i) {
    const cv::Mat& c = rgb_crops[i];
    const std::string file = tmp.file("crop" + std::to_string(i) + ".rgb");
    std::ofstream out(file, std::ios::binary);
    for (int y = 0; y < c.rows; ++y)
      out.write(reinterpret_cast<const char*>(c.ptr(y)), static_cast<std::streamsize>(c.cols) * 3);
    command +=
        " " + std::to_string(c.cols) + "x" + std::to_string(c.rows) + ":" + shell_quote(file);
  }
  command += " 2>" + shell_quote(tmp.file("stderr.txt"));
  std::string text;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    if (::pclose(p) != 0) {
      ADD_FAILURE() << command << " failed:\n" << read_bytes(tmp.file("stderr.txt"));
      return nullptr;
    }
  }
  return nlohmann::json::parse(text, nullptr, false);
}

// RGB crops as the networks' parity tests use them: the labelled boxes of a few portraits
// (portrait-shaped, so padded at the sides), the same faces cut wider than tall (padded at top and
// bottom) and one crop that needs no resize, and a colour ramp far from any face.
inline std::vector<cv::Mat> parity_crops(const std::vector<Portrait>& portraits) {
  std::vector<cv::Mat> crops;
  for (std::size_t i = 0; i < portraits.size(); ++i) {
    const Portrait& p = portraits[i];
    cv::Mat rgb;
    cv::cvtColor(p.bgr, rgb, cv::COLOR_BGR2RGB);
    const cv::Rect image(0, 0, rgb.cols, rgb.rows);
    cv::Rect box(static_cast<int>(p.face.x), static_cast<int>(p.face.y),
                 static_cast<int>(p.face.width), static_cast<int>(p.face.height));
    crops.push_back(rgb(box & image).clone());
    if (i % 2 == 0) {
      const cv::Rect wide(box.x - box.width / 4, box.y + box.height / 8, box.width * 3 / 2 + 1,
                          box.height * 3 / 4);
      crops.push_back(rgb(wide & image).clone());
    }
    if (i == 1) crops.push_back(rgb(cv::Rect(box.x, box.y, 112, 112) & image).clone());
  }
  cv::Mat ramp(97, 131, CV_8UC3);
  for (int y = 0; y < ramp.rows; ++y)
    for (int x = 0; x < ramp.cols; ++x)
      ramp.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 2), static_cast<uchar>(y * 2),
                                           static_cast<uchar>(255 - x - y));
  crops.push_back(ramp);
  return crops;
}

}  // namespace hesp::test

// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared by the model tests: the face-api package in the cache, a freshly converted default pack,
// the demo photos and the faces in them.
#pragma once

#include <gtest/gtest.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "hesp/expression_model.h"
#include "hesp/face_clips.h"
#include "hesp/face_detector.h"
#include "hesp/pack_converters.h"
#include "scratch.h"
#include "test_data.h"

namespace hesp::test {

inline std::string faceapi_package() { return cache_path("npm/face-api-1.7.15"); }
inline std::string human_models_package() { return cache_path("npm/human-models-3.0.4"); }

inline TempDir& scratch() {
  static TempDir dir;
  return dir;
}

// The default pack, converted once per test program from the npm package by the code under test
// (not the copy in the cache, which an older build may have made). Empty when the package is
// missing; callers skip through HESP_REQUIRE_FILE(faceapi_package()) first.
inline const std::string& converted_pack() {
  static const std::string path = [] {
    // As `hesp convert` does: keep activation buffers in the heap, or the calibration spends half
    // its time faulting pages in.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    FaceApiConvertOptions options;
    options.package_dir = faceapi_package();
    options.output_path = scratch().file("faceapi-expression.safetensors");
    convert_faceapi(options);
    return options.output_path;
  }();
  return path;
}

// The Human emotion pack, converted once per test program like converted_pack(). Callers skip
// through HESP_REQUIRE_FILE(human_models_package() + "/models/emotion.bin") and the demo photos.
inline const std::string& converted_human_pack() {
  static const std::string path = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    HumanEmotionConvertOptions options;
    options.model_dir = human_models_package();
    options.output_path = scratch().file("human-emotion.safetensors");
    options.calibration_photos = faceapi_package() + "/demo";
    convert_human_emotion(options);
    return options.output_path;
  }();
  return path;
}

struct DemoPhoto {
  cv::Mat bgr;
  ImageView view;
};

inline DemoPhoto load_demo_photo(int n) {
  DemoPhoto p;
  p.bgr = cv::imread(demo_photo(n), cv::IMREAD_COLOR);
  p.view.format = PixelFormat::kBGR;
  p.view.width = p.bgr.cols;
  p.view.height = p.bgr.rows;
  p.view.planes[0] = p.bgr.data;
  p.view.strides[0] = static_cast<int>(p.bgr.step);
  return p;
}

// A face chosen by a person looking at the photo, identified by the box OpenCV's default Haar
// cascade returns for it (min face size 40 px).
struct ListedFace {
  int photo;
  Box box;
  const char* what;
};

// The crop the default pack expects (margin from the pack, 112 px) around a box.
inline std::vector<std::uint8_t> crop(const DemoPhoto& photo, const Box& box, float margin,
                                      int size = 112) {
  return crop_face(photo.view, square_around(box, margin), size).rgb;
}

// The detection the face detector returns for a listed face (IoU >= 0.7), so the test exercises
// the real detector -> crop -> model path. Fails the test when the detector no longer finds it.
inline bool detect_listed(FaceDetector& detector, const DemoPhoto& photo, const ListedFace& face,
                          Box* found) {
  for (const Detection& d : detector.detect(photo.view)) {
    if (iou(d.box, face.box) >= 0.7f) {
      *found = d.box;
      return true;
    }
  }
  return false;
}

inline std::unique_ptr<FaceDetector> haar_detector() {
  DetectorConfig config;
  config.min_face_size = 40;
  return make_face_detector(config);
}

}  // namespace hesp::test

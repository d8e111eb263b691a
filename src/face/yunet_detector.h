// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>

#include "hesp/face_detector.h"

namespace hesp {

// OpenCV's DNN face detector (YuNet family) on a user-supplied ONNX file.
class YuNetDetector final : public FaceDetector {
 public:
  explicit YuNetDetector(const DetectorConfig& config);
  std::vector<Detection> detect(const ImageView& frame) override;
  std::string name() const override { return "yunet:" + config_.model_path; }
  float confidence_threshold() const override;

 private:
  float weak_score_threshold() const;  // what the network is run with

  DetectorConfig config_;
  cv::Ptr<cv::FaceDetectorYN> net_;
  cv::Size input_size_{0, 0};
};

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <opencv2/objdetect.hpp>

#include "hesp/face_detector.h"

namespace hesp {

class HaarDetector final : public FaceDetector {
 public:
  HaarDetector(const DetectorConfig& config, const std::string& cascade_path);
  std::vector<Detection> detect(const ImageView& frame) override;
  std::string name() const override { return "haar:" + path_; }
  float confidence_threshold() const override;

 private:
  DetectorConfig config_;
  std::string path_;
  cv::CascadeClassifier cascade_;
  int min_neighbors_ = 3;       // a face at the configured sensitivity
  int weak_min_neighbors_ = 3;  // what the cascade is run with (less with weak_fraction < 1)
};

}  // namespace hesp

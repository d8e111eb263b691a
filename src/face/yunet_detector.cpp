// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face/yunet_detector.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "face/detector_support.h"
#include "hesp/error.h"
#include "image/cv_image.h"

namespace hesp {

namespace {
constexpr int kProbeSize = 320;

float score_threshold(double sensitivity) {
  return static_cast<float>(std::clamp(0.95 - 0.7 * sensitivity, 0.05, 0.99));
}
}  // namespace

float YuNetDetector::confidence_threshold() const { return score_threshold(config_.sensitivity); }

float YuNetDetector::weak_score_threshold() const {
  return static_cast<float>(confidence_threshold() * std::clamp(config_.weak_fraction, 0.0, 1.0));
}

YuNetDetector::YuNetDetector(const DetectorConfig& config) : config_(config) {
  const std::string& path = config_.model_path;
  try {
    net_ = cv::FaceDetectorYN::create(path, "", cv::Size(kProbeSize, kProbeSize),
                                      weak_score_threshold(), 0.3f, 5000);
  } catch (const cv::Exception& e) {
    throw CorruptFileError("'" + path + "' is not a readable ONNX face detector: " + e.err);
  }
  if (net_.empty()) throw CorruptFileError("'" + path + "' could not be loaded as a face detector");
  // A network that loads but is not a YuNet-style detector fails on its first forward; probe now
  // so the error surfaces at start-up, naming the file, rather than on the first frame.
  try {
    cv::Mat probe(kProbeSize, kProbeSize, CV_8UC3, cv::Scalar(0, 0, 0));
    cv::Mat faces;
    net_->detect(probe, faces);
    if (!faces.empty() && faces.cols < 15)
      throw CorruptFileError("'" + path + "' gives " + std::to_string(faces.cols) +
                             " numbers per face, a YuNet face detector gives 15");
  } catch (const cv::Exception& e) {
    throw CorruptFileError("'" + path + "' is not a YuNet-style face detector (" + e.err + ")");
  }
  input_size_ = cv::Size(kProbeSize, kProbeSize);
}

std::vector<Detection> YuNetDetector::detect(const ImageView& frame) {
  validate(frame);
  const double scale = config_.input_scale;
  const cv::Mat bgr = scaled_for_detection(bgr_of(frame), scale);
  if (bgr.cols < 2 || bgr.rows < 2) return {};
  if (bgr.size() != input_size_) {
    net_->setInputSize(bgr.size());
    input_size_ = bgr.size();
  }
  cv::Mat faces;
  try {
    net_->detect(bgr, faces);
  } catch (const cv::Exception& e) {
    throw InputError(std::string("face detector failed on a frame: ") + e.err);
  }
  std::vector<Detection> out;
  for (int i = 0; i < faces.rows; ++i) {
    const float* row = faces.ptr<float>(i);
    const float inv = static_cast<float>(1.0 / scale);
    Box box{row[0] * inv, row[1] * inv, row[2] * inv, row[3] * inv};
    if (std::min(box.width, box.height) < static_cast<float>(config_.min_face_size)) continue;
    out.push_back(Detection{box, row[14]});
  }
  keep_largest(out, config_.max_faces, confidence_threshold());
  return out;
}

}  // namespace hesp

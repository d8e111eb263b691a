// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/face_detector.h"

#include <sys/stat.h>

#include "face/faceapi_tiny_detector.h"
#include "face/haar_detector.h"
#include "face/yunet_detector.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"

namespace hesp {

namespace {
bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

constexpr const char* kCascadeName = "haarcascade_frontalface_default.xml";
constexpr const char* kCascadeFolders[] = {
    "/usr/share/opencv4/haarcascades",
    "/usr/local/share/opencv4/haarcascades",
    "/usr/share/opencv/haarcascades",
};
}  // namespace

std::string default_haar_cascade_path() {
  std::string searched;
  for (const char* folder : kCascadeFolders) {
    const std::string path = std::string(folder) + "/" + kCascadeName;
    if (is_regular_file(path)) return path;
    searched += searched.empty() ? folder : std::string(", ") + folder;
  }
  throw FileNotFoundError(std::string("default face cascade ") + kCascadeName + " not found in " +
                          searched + " (install Debian's opencv-data)");
}

std::string default_faceapi_tiny_manifest_path() {
  return cache_dir() + "/npm/face-api-1.7.15/model/" + kFaceApiTinyManifestName;
}

std::unique_ptr<FaceDetector> make_face_detector(const DetectorConfig& config) {
  if (config.min_face_size < 1) throw SettingsError("min-face-size must be at least 1");
  if (config.sensitivity < 0.0 || config.sensitivity > 1.0)
    throw SettingsError("detector sensitivity must lie in 0..1");
  if (config.scale_factor <= 1.0) throw SettingsError("cascade scale factor must exceed 1");
  if (!(config.input_scale >= 0.1 && config.input_scale <= 1.0))
    throw SettingsError("detection scale must lie in 0.1..1");
  if (config.max_faces < 0) throw SettingsError("max-faces must not be negative");
  if (!(config.weak_fraction > 0.0 && config.weak_fraction <= 1.0))
    throw SettingsError("the detector's weak fraction must lie in (0, 1]");
  switch (config.kind) {
    case DetectorKind::kHaar: {
      const std::string path =
          config.model_path.empty() ? default_haar_cascade_path() : config.model_path;
      if (!is_regular_file(path))
        throw FileNotFoundError("Haar cascade file '" + path + "' not found");
      return std::make_unique<HaarDetector>(config, path);
    }
    case DetectorKind::kYuNet: {
      if (config.model_path.empty())
        throw SettingsError(
            "the yunet detector needs an ONNX model file (property detector-model)");
      if (!is_regular_file(config.model_path))
        throw FileNotFoundError("face detector model '" + config.model_path + "' not found");
      return std::make_unique<YuNetDetector>(config);
    }
    case DetectorKind::kFaceApiTiny: {
      if (config.input_size < 32 || config.input_size > 2048 || config.input_size % 32 != 0)
        throw SettingsError(
            "the faceapi detector's input size must be a multiple of 32 in 32..2048");
      std::string path =
          config.model_path.empty() ? default_faceapi_tiny_manifest_path() : config.model_path;
      if (is_directory(path)) path += std::string("/") + kFaceApiTinyManifestName;
      if (!is_regular_file(path))
        throw FileNotFoundError(
            "face-api tiny face detector weights manifest '" + path + "' not found" +
            (config.model_path.empty() ? " (scripts/setup.sh unpacks it there)" : ""));
      return std::make_unique<FaceApiTinyDetector>(config, path);
    }
  }
  throw SettingsError("unknown detector kind");
}

}  // namespace hesp

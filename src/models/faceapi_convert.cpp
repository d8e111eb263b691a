// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp convert faceapi`: TensorFlow.js weights of face-api.js's expression network -> fer-cnn
// model pack, plus the calibration of its open-set threshold. Torch-free: the network runs through
// the public ExpressionModel API on a provisional pack.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "face/tfjs_weights.h"
#include "hesp/error.h"
#include "hesp/face_alignment.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "hesp_config.h"
#include "models/open_set_calibration.h"

namespace hesp {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPackageName = "@vladmandic/face-api";
constexpr const char* kWeightsManifest = "model/face_expression_model-weights_manifest.json";
constexpr int kInputSize = 112;
constexpr int kFramesPerClip = 8;
// Context around the face box in the crops the pack asks for. Measured on the 15 demo faces
// (docs/models.md): with no margin the network misreads a clear smile as disgust, with 0.2 the
// open-set scores of faces and non-faces overlap more (energy AUROC 0.81 against 0.90); 0.1 gets
// the smiles right and keeps the separation.
constexpr double kFaceMargin = 0.1;

// ---------------------------------------------------------------------------------------------
// TFJS weights -> pack tensors

struct PackTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// Reorders a tensor of up to 4 dimensions: out dimension i is in dimension perm[i].
PackTensor permuted(const TfjsTensor& w, const std::string& name, const std::vector<int>& perm) {
  std::vector<std::int64_t> in_shape = w.shape;
  while (in_shape.size() < 4) in_shape.push_back(1);
  std::vector<int> p = perm;
  for (int i = static_cast<int>(p.size()); i < 4; ++i) p.push_back(i);
  std::int64_t in_stride[4];
  in_stride[3] = 1;
  for (int i = 2; i >= 0; --i) in_stride[i] = in_stride[i + 1] * in_shape[i + 1];
  PackTensor t;
  t.name = name;
  for (std::size_t i = 0; i < perm.size(); ++i) t.shape.push_back(w.shape[perm[i]]);
  std::int64_t out_shape[4];
  for (int i = 0; i < 4; ++i) out_shape[i] = in_shape[p[i]];
  t.values.resize(w.values.size());
  std::size_t o = 0;
  for (std::int64_t a = 0; a < out_shape[0]; ++a)
    for (std::int64_t b = 0; b < out_shape[1]; ++b)
      for (std::int64_t c = 0; c < out_shape[2]; ++c)
        for (std::int64_t d = 0; d < out_shape[3]; ++d)
          t.values[o++] = w.values[a * in_stride[p[0]] + b * in_stride[p[1]] + c * in_stride[p[2]] +
                                   d * in_stride[p[3]]];
  return t;
}

// The one place where face-api.js names and TFJS layouts meet the LibTorch module (fer_cnn.cpp):
//   X/filters           [kh, kw, in, out] -> X.weight            [out, in, kh, kw]
//   X/depthwise_filter  [kh, kw, in, 1]   -> X.depthwise.weight  [in, 1, kh, kw]
//   X/pointwise_filter  [1, 1, in, out]   -> X.pointwise.weight  [out, in, 1, 1]
//   X/bias              [out]             -> X.bias (plain conv) or X.pointwise.bias
//   fc/weights          [in, out]         -> fc.weight           [out, in]
std::vector<PackTensor> map_faceapi_weights(const TfjsWeightMap& weights,
                                            const std::string& source) {
  std::vector<PackTensor> out;
  for (const auto& item : weights) {
    // Named references, not a structured binding: the lambda below captures them.
    const std::string& name = item.first;
    const TfjsTensor& w = item.second;
    const auto slash = name.rfind('/');
    const std::string prefix = slash == std::string::npos ? "" : name.substr(0, slash);
    const std::string leaf = slash == std::string::npos ? name : name.substr(slash + 1);
    std::string dotted = prefix;
    for (char& c : dotted)
      if (c == '/') c = '.';
    auto expect_rank = [&](std::size_t rank) {
      if (w.shape.size() != rank)
        throw CorruptFileError(source + ": weight '" + name + "' has rank " +
                               std::to_string(w.shape.size()) + ", expected " +
                               std::to_string(rank));
    };
    if (name == "fc/weights") {
      expect_rank(2);
      out.push_back(permuted(w, "fc.weight", {1, 0}));
    } else if (name == "fc/bias") {
      out.push_back(permuted(w, "fc.bias", {0}));
    } else if (leaf == "filters") {
      expect_rank(4);
      out.push_back(permuted(w, dotted + ".weight", {3, 2, 0, 1}));
    } else if (leaf == "depthwise_filter") {
      expect_rank(4);
      if (w.shape[3] != 1)
        throw CorruptFileError(source + ": depthwise weight '" + name +
                               "' has a channel multiplier other than 1");
      out.push_back(permuted(w, dotted + ".depthwise.weight", {2, 3, 0, 1}));
    } else if (leaf == "pointwise_filter") {
      expect_rank(4);
      out.push_back(permuted(w, dotted + ".pointwise.weight", {3, 2, 0, 1}));
    } else if (leaf == "bias" && weights.count(prefix + "/filters")) {
      out.push_back(permuted(w, dotted + ".bias", {0}));
    } else if (leaf == "bias" && weights.count(prefix + "/pointwise_filter")) {
      out.push_back(permuted(w, dotted + ".pointwise.bias", {0}));
    } else {
      throw CorruptFileError(source + ": unexpected weight '" + name +
                             "'; is this face-api.js's expression model?");
    }
  }
  return out;
}

// package.json fields are not always strings (old packages give licence and repository as
// objects); anything unexpected becomes the fallback rather than an exception.
std::string string_field(const nlohmann::json& j, const char* key, const std::string& fallback) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : fallback;
}

std::string repository_url(const nlohmann::json& package) {
  if (package.contains("repository") && package["repository"].is_object())
    return string_field(package["repository"], "url", "");
  return string_field(package, "repository", "");
}

nlohmann::json read_package_json(const fs::path& dir) {
  const fs::path p = dir / "package.json";
  if (!fs::exists(p))
    throw FileNotFoundError("'" + dir.string() + "' is not an unpacked npm package (no " +
                            p.string() + ")");
  std::ifstream in(p);
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw CorruptFileError("'" + p.string() + "' is not valid JSON (" + e.what() + ")");
  }
  if (string_field(j, "name", "") != kPackageName)
    throw SettingsError("'" + dir.string() + "' holds the npm package '" +
                        string_field(j, "name", "?") + "', not " + kPackageName);
  return j;
}

}  // namespace

FaceApiConvertReport convert_faceapi(const FaceApiConvertOptions& options) {
  models::check_calibration_settings(options.score_rule, options.target_tpr);
  if (options.output_path.empty()) throw SettingsError("no output path for the model pack");
  const fs::path pkg(options.package_dir);
  if (!fs::is_directory(pkg))
    throw FileNotFoundError("face-api package folder '" + options.package_dir + "' does not exist");
  const nlohmann::json package = read_package_json(pkg);
  const fs::path manifest_path = pkg / kWeightsManifest;
  const auto weights = read_tfjs_weight_map(manifest_path.string());
  const auto tensors = map_faceapi_weights(weights, manifest_path.string());

  FaceApiConvertReport report;
  report.output_path = options.output_path;
  report.package_version = string_field(package, "version", "unknown");
  std::vector<TensorInfo> infos;
  for (const auto& t : tensors) {
    infos.push_back({t.name, DType::kF32, t.shape, t.values.data(), t.values.size() * 4});
    report.parameters += static_cast<std::int64_t>(t.values.size());
  }
  report.tensors = static_cast<int>(infos.size());

  nlohmann::json manifest = {
      {"format_version", kModelPackFormatVersion},
      {"kind", "fer-cnn"},
      {"name", "faceapi-expression"},
      {"description",
       "face-api.js facial expression network: 7 basic expressions from one 112x112 face crop; "
       "hesp pools its logits over the frames of a clip"},
      {"classes", {"neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"}},
      {"architecture",
       {{"type", "faceapi-dense4"},
        {"block_channels", {32, 64, 128, 256}},
        {"convs_per_block", 4},
        {"in_channels", 3},
        {"num_classes", 7},
        {"pool_kernel", 7},
        {"pool_stride", 2},
        {"padding", "tensorflow-same"}}},
      {"input",
       {{"size", kInputSize},
        {"color", "RGB"},
        {"range", {0, 255}},
        {"mean", {122.782, 117.001, 104.298}},
        {"std", {255.0, 255.0, 255.0}},
        {"face_margin", kFaceMargin},
        {"alignment", face_alignment_name(parse_face_alignment(options.alignment))}}},
      {"frames_per_clip", kFramesPerClip},
      {"clip_pooling", "frame_logits"},
      {"open_set",
       {{"score", options.score_rule}, {"unknown_threshold", 0.0}, {"higher_is_known", true}}},
      {"provenance",
       {{"source", "npm"},
        {"package", kPackageName},
        {"version", report.package_version},
        {"license", string_field(package, "license", "unknown")},
        {"homepage", string_field(package, "homepage", "")},
        {"repository", repository_url(package)},
        {"files", {kWeightsManifest, "model/face_expression_model.bin"}},
        {"converted_by", std::string("hesp ") + HESP_VERSION + " convert faceapi"}}},
  };

  report.calibration =
      models::write_calibrated_pack(options.output_path, manifest, infos, (pkg / "demo").string(),
                                    options.score_rule, options.target_tpr);
  return report;
}

}  // namespace hesp

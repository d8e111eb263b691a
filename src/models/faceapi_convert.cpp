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
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "face/tfjs_weights.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/face_clips.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "hesp_config.h"
#include "models/open_set.h"

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

// ---------------------------------------------------------------------------------------------
// Calibration clips

// Face boxes found by OpenCV's frontal-face Haar cascade (hesp's default detector, min face size
// 40 px) on the package's demo photos, each looked at and labelled by a person: real faces, and
// detector false positives (a badge, sofa, curtains, window blinds, hair). Listed rather than
// re-detected so the calibration does not move with OpenCV versions.
struct CalibrationBox {
  int photo;  // demo/sampleN.jpg
  float x, y, side;
};

constexpr CalibrationBox kFaces[] = {
    {1, 362, 367, 238},  {2, 1404, 164, 236}, {3, 1019, 219, 293}, {3, 552, 342, 245},
    {3, 1485, 315, 244}, {4, 932, 201, 226},  {5, 1358, 410, 246}, {5, 355, 894, 239},
    {5, 773, 121, 204},  {5, 1088, 216, 197}, {5, 644, 458, 158},  {6, 1445, 279, 273},
    {6, 241, 508, 260},  {6, 1147, 331, 256}, {6, 620, 349, 254},
};

constexpr CalibrationBox kNonFaces[] = {
    {1, 1467, 571, 125}, {1, 1302, 964, 59}, {2, 219, 1053, 64}, {2, 1338, 471, 54},
    {2, 1288, 551, 51},  {5, 719, 311, 58},  {5, 783, 70, 54},   {6, 401, 142, 146},
    {6, 710, 588, 143},  {6, 397, 94, 134},  {6, 420, 253, 127}, {6, 469, 444, 116},
    {6, 932, 480, 111},  {6, 560, 656, 106}, {6, 608, 567, 101}, {6, 1417, 208, 98},
    {6, 928, 566, 98},   {6, 309, 1369, 79},
};

constexpr int kKnownClipsPerFace = 8;
constexpr int kUnknownClipsPerItem = 4;

// SplitMix64: a fixed, documented generator, so the clips (and the threshold) are the same with
// every standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53;
  }

 private:
  std::uint64_t state_;
};

enum class Degrade { kNone, kOccluded, kBlurred, kScrambled };

struct Photo {
  cv::Mat bgr;
  ImageView view;
};

// One clip of kFramesPerClip crops of a box, each frame moved, scaled and lit slightly differently
// (what a face tracked over a few frames of video looks like), optionally mirrored, then degraded.
std::vector<std::uint8_t> make_clip(const Photo& photo, const CalibrationBox& b, Degrade degrade,
                                    Rng& rng) {
  const int s = kInputSize;
  const std::size_t frame_bytes = static_cast<std::size_t>(s) * s * 3;
  std::vector<std::uint8_t> clip(frame_bytes * kFramesPerClip);
  const bool mirror = rng.next() & 1;
  std::vector<int> tiles(16);
  for (int i = 0; i < 16; ++i) tiles[i] = i;
  for (int i = 15; i > 0; --i) std::swap(tiles[i], tiles[rng.next() % (i + 1)]);
  for (int f = 0; f < kFramesPerClip; ++f) {
    const double scale = rng.uniform(0.96, 1.04);
    const double side = b.side * scale;
    Box box;
    box.x = static_cast<float>(b.x + rng.uniform(-0.04, 0.04) * b.side - (side - b.side) / 2);
    box.y = static_cast<float>(b.y + rng.uniform(-0.04, 0.04) * b.side - (side - b.side) / 2);
    box.width = box.height = static_cast<float>(side);
    const double gain = rng.uniform(0.9, 1.1);
    std::uint8_t* out = clip.data() + f * frame_bytes;
    crop_face_into(photo.view, square_around(box, static_cast<float>(kFaceMargin)), s, out);
    cv::Mat m(s, s, CV_8UC3, out);  // writes through to the clip buffer
    cv::Mat tmp;
    m.convertTo(tmp, CV_8UC3, gain);
    if (mirror) cv::flip(tmp.clone(), tmp, 1);
    tmp.copyTo(m);
    switch (degrade) {
      case Degrade::kNone:
        break;
      case Degrade::kOccluded:
        // A flat grey patch over eyes, nose and mouth, as a hand or an object would.
        m(cv::Rect(s * 15 / 100, s * 20 / 100, s * 70 / 100, s * 70 / 100))
            .setTo(cv::Scalar::all(128));
        break;
      case Degrade::kBlurred:
        cv::GaussianBlur(m.clone(), m, cv::Size(0, 0), 0.08 * s);
        break;
      case Degrade::kScrambled: {
        // 4x4 tiles shuffled: the face's colours and textures without its layout.
        const cv::Mat src = m.clone();
        const int t = s / 4;
        for (int i = 0; i < 16; ++i) {
          const int from = tiles[i];
          src(cv::Rect((from % 4) * t, (from / 4) * t, t, t))
              .copyTo(m(cv::Rect((i % 4) * t, (i / 4) * t, t, t)));
        }
        break;
      }
    }
  }
  return clip;
}

struct CalibrationClip {
  std::vector<std::uint8_t> rgb;
  std::string group;  // "known" or an unknown group name
  int photo;
};

std::vector<CalibrationClip> calibration_clips(const fs::path& package_dir) {
  std::vector<Photo> photos(7);
  for (int n = 1; n <= 6; ++n) {
    const fs::path p = package_dir / "demo" / ("sample" + std::to_string(n) + ".jpg");
    if (!fs::exists(p))
      throw FileNotFoundError("calibration photo '" + p.string() +
                              "' is missing (the open-set threshold is calibrated on the "
                              "package's demo photos)");
    photos[n].bgr = cv::imread(p.string(), cv::IMREAD_COLOR);
    if (photos[n].bgr.empty()) throw CorruptFileError("cannot decode '" + p.string() + "'");
    ImageView& v = photos[n].view;
    v.format = PixelFormat::kBGR;
    v.width = photos[n].bgr.cols;
    v.height = photos[n].bgr.rows;
    v.planes[0] = photos[n].bgr.data;
    v.strides[0] = static_cast<int>(photos[n].bgr.step);
  }
  Rng rng(20240611);
  std::vector<CalibrationClip> clips;
  for (const auto& b : kFaces)
    for (int i = 0; i < kKnownClipsPerFace; ++i)
      clips.push_back({make_clip(photos[b.photo], b, Degrade::kNone, rng), "known", b.photo});
  for (const auto& b : kNonFaces)
    for (int i = 0; i < kUnknownClipsPerItem; ++i)
      clips.push_back({make_clip(photos[b.photo], b, Degrade::kNone, rng), "non_face", b.photo});
  const std::pair<Degrade, const char*> degraded[] = {{Degrade::kOccluded, "occluded_face"},
                                                      {Degrade::kBlurred, "blurred_face"},
                                                      {Degrade::kScrambled, "scrambled_face"}};
  for (const auto& [how, group] : degraded)
    for (const auto& b : kFaces)
      for (int i = 0; i < kUnknownClipsPerItem; ++i)
        clips.push_back({make_clip(photos[b.photo], b, how, rng), group, b.photo});
  return clips;
}

CalibrationReport calibrate(ExpressionModel& model, const fs::path& package_dir,
                            const std::string& chosen_rule, double target_tpr) {
  const auto clips = calibration_clips(package_dir);
  std::vector<ClipView> views;
  for (const auto& c : clips) views.push_back({c.rgb.data(), kFramesPerClip, kInputSize});
  const auto results = model.classify(views, -std::numeric_limits<double>::infinity());

  CalibrationReport report;
  report.frames_per_clip = kFramesPerClip;
  report.target_tpr = target_tpr;
  for (const auto& c : clips) {
    if (c.group == "known")
      ++report.known_clips;
    else
      ++report.unknown_clips[c.group];
  }
  for (const std::string& rule : open_set_score_rules()) {
    std::vector<double> known, unknown;
    std::map<std::string, std::vector<double>> groups;
    std::map<int, std::vector<double>> known_by_photo;
    for (std::size_t i = 0; i < clips.size(); ++i) {
      const double s = open_set_score(rule, results[i].logits);
      if (clips[i].group == "known") {
        known.push_back(s);
        known_by_photo[clips[i].photo].push_back(s);
      } else {
        unknown.push_back(s);
        groups[clips[i].group].push_back(s);
      }
    }
    ScoreRuleStats st;
    st.rule = rule;
    st.auroc = models::auroc(known, unknown);
    st.threshold = models::threshold_at_tpr(known, target_tpr);
    st.tpr = models::fraction_kept(known, st.threshold);
    for (const auto& [g, scores] : groups) {
      st.group_auroc[g] = models::auroc(known, scores);
      st.group_fpr[g] = models::fraction_kept(scores, st.threshold);
    }
    std::size_t kept = 0, total = 0;
    for (const auto& [photo, scores] : known_by_photo) {
      std::vector<double> others;
      for (const auto& [p, s] : known_by_photo)
        if (p != photo) others.insert(others.end(), s.begin(), s.end());
      const double t = models::threshold_at_tpr(others, target_tpr);
      for (double s : scores) kept += s >= t;
      total += scores.size();
    }
    st.held_out_tpr = static_cast<double>(kept) / static_cast<double>(total);
    if (rule == chosen_rule) report.chosen_threshold = st.threshold;
    report.rules.push_back(std::move(st));
  }
  report.chosen_rule = chosen_rule;
  return report;
}

nlohmann::json calibration_json(const CalibrationReport& r) {
  nlohmann::json rules = nlohmann::json::object();
  for (const auto& st : r.rules)
    rules[st.rule] = {
        {"auroc", st.auroc}, {"auroc_by_group", st.group_auroc}, {"threshold", st.threshold},
        {"tpr", st.tpr},     {"held_out_tpr", st.held_out_tpr},  {"fpr_by_group", st.group_fpr}};
  return {{"method",
           "threshold = largest score that keeps target_tpr of the known clips; known = jittered "
           "8-frame clips of 15 hand-checked faces in the package's demo photos; unknown groups = "
           "Haar false positives, and the same faces occluded, blurred or tile-scrambled "
           "(docs/models.md)"},
          {"target_tpr", r.target_tpr},
          {"frames_per_clip", r.frames_per_clip},
          {"known_clips", r.known_clips},
          {"unknown_clips", r.unknown_clips},
          {"rules", rules}};
}

}  // namespace

FaceApiConvertReport convert_faceapi(const FaceApiConvertOptions& options) {
  const auto& rules = open_set_score_rules();
  if (std::find(rules.begin(), rules.end(), options.score_rule) == rules.end())
    throw SettingsError("unknown open-set score rule '" + options.score_rule +
                        "' (expected max_logit, max_softmax or energy)");
  if (!(options.target_tpr > 0.0 && options.target_tpr <= 1.0))
    throw SettingsError("the target TPR must be in (0, 1]");
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
       "hesp averages its logits over the frames of a clip"},
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
        {"face_margin", kFaceMargin}}},
      {"frames_per_clip", kFramesPerClip},
      {"clip_pooling", "mean_logits"},
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

  // A provisional pack lets the calibration run the network exactly as users will.
  const std::string provisional = options.output_path + ".uncalibrated";
  write_pack(provisional, manifest, infos);
  try {
    auto model = ExpressionModel::load(provisional);
    report.calibration = calibrate(*model, pkg, options.score_rule, options.target_tpr);
  } catch (...) {
    std::error_code ec;
    fs::remove(provisional, ec);
    throw;
  }
  std::error_code ec;
  fs::remove(provisional, ec);

  manifest["open_set"]["unknown_threshold"] = report.calibration.chosen_threshold;
  manifest["open_set"]["calibration"] = calibration_json(report.calibration);
  write_pack(options.output_path, manifest, infos);
  return report;
}

}  // namespace hesp

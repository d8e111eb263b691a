// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/open_set_calibration.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "hesp/error.h"
#include "hesp/face_alignment.h"
#include "hesp/face_clips.h"
#include "models/open_set.h"

namespace hesp::models {

namespace {

namespace fs = std::filesystem;

constexpr int kFramesPerClip = 8;

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

// How the clips are cut: the model's input size and face margin, or the pack's alignment (an
// aligner that runs the landmark net on every jittered box, as hespclipbatch would on a
// detector's box; null for none).
struct CropSpec {
  int size;
  double margin;
  FaceAligner* aligner;
};

// One clip of kFramesPerClip crops of a box, each frame moved, scaled and lit slightly differently
// (what a face tracked over a few frames of video looks like), optionally mirrored, then degraded.
std::vector<std::uint8_t> make_clip(const Photo& photo, const CalibrationBox& b, Degrade degrade,
                                    const CropSpec& spec, Rng& rng) {
  const int s = spec.size;
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
    if (spec.aligner)
      spec.aligner->crop_into(photo.view, box, s, static_cast<float>(spec.margin), out);
    else
      crop_face_into(photo.view, square_around(box, static_cast<float>(spec.margin)), s, out);
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

std::vector<CalibrationClip> calibration_clips(const fs::path& photos_dir, const CropSpec& spec) {
  std::vector<Photo> photos(7);
  for (int n = 1; n <= 6; ++n) {
    const fs::path p = photos_dir / ("sample" + std::to_string(n) + ".jpg");
    if (!fs::exists(p))
      throw FileNotFoundError("calibration photo '" + p.string() +
                              "' is missing (the open-set threshold is calibrated on face-api.js's "
                              "demo photos)");
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
      clips.push_back({make_clip(photos[b.photo], b, Degrade::kNone, spec, rng), "known", b.photo});
  for (const auto& b : kNonFaces)
    for (int i = 0; i < kUnknownClipsPerItem; ++i)
      clips.push_back(
          {make_clip(photos[b.photo], b, Degrade::kNone, spec, rng), "non_face", b.photo});
  const std::pair<Degrade, const char*> degraded[] = {{Degrade::kOccluded, "occluded_face"},
                                                      {Degrade::kBlurred, "blurred_face"},
                                                      {Degrade::kScrambled, "scrambled_face"}};
  for (const auto& [how, group] : degraded)
    for (const auto& b : kFaces)
      for (int i = 0; i < kUnknownClipsPerItem; ++i)
        clips.push_back({make_clip(photos[b.photo], b, how, spec, rng), group, b.photo});
  return clips;
}

}  // namespace

CalibrationReport calibrate_open_set(ExpressionModel& model, const std::string& photos_dir,
                                     const std::string& chosen_rule, double target_tpr,
                                     FaceAlignment alignment) {
  // The landmark net is the one the element chain runs by default, so the threshold is fitted on
  // the crops users get unless they pick the other net.
  const LandmarkNet chain_default_net = ClipConfig{}.landmark_net;
  std::unique_ptr<FaceAligner> aligner;
  if (alignment != FaceAlignment::kNone)
    aligner = std::make_unique<FaceAligner>(alignment, "", chain_default_net);
  const CropSpec spec{model.input_size(), model.face_margin(), aligner.get()};
  const auto clips = calibration_clips(photos_dir, spec);
  std::vector<ClipView> views;
  for (const auto& c : clips) views.push_back({c.rgb.data(), kFramesPerClip, spec.size});
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
    report.rules.push_back(std::move(st));
  }
  // "auto": the rule that separates known from unknown clips best; the first of equals.
  const ScoreRuleStats* chosen = nullptr;
  for (const ScoreRuleStats& st : report.rules)
    if (chosen_rule == "auto" ? !chosen || st.auroc > chosen->auroc : st.rule == chosen_rule)
      chosen = &st;
  if (!chosen) throw SettingsError("unknown open-set score rule '" + chosen_rule + "'");
  report.chosen_rule = chosen->rule;
  report.chosen_threshold = chosen->threshold;
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
           "8-frame clips of 15 hand-checked faces in face-api.js's demo photos; unknown groups = "
           "Haar false positives, and the same faces occluded, blurred or tile-scrambled "
           "(docs/models.md)"},
          {"target_tpr", r.target_tpr},
          {"frames_per_clip", r.frames_per_clip},
          {"known_clips", r.known_clips},
          {"unknown_clips", r.unknown_clips},
          {"rules", rules}};
}

void check_calibration_settings(const std::string& rule, double target_tpr) {
  const auto& rules = open_set_score_rules();
  if (rule != "auto" && std::find(rules.begin(), rules.end(), rule) == rules.end())
    throw SettingsError("unknown open-set score rule '" + rule +
                        "' (expected max_logit, max_softmax, energy or auto)");
  if (!(target_tpr > 0.0 && target_tpr <= 1.0))
    throw SettingsError("the target TPR must be in (0, 1]");
}

CalibrationReport write_calibrated_pack(const std::string& path, nlohmann::json manifest,
                                        const std::vector<TensorInfo>& tensors,
                                        const std::string& photos_dir,
                                        const std::string& chosen_rule, double target_tpr) {
  // Any valid rule will do for the provisional pack: the calibration scores the raw logits.
  manifest["open_set"]["score"] = chosen_rule == "auto" ? "energy" : chosen_rule;
  manifest["open_set"]["unknown_threshold"] = 0.0;
  // A provisional pack lets the calibration run the network exactly as users will.
  const std::string provisional = path + ".uncalibrated";
  write_pack(provisional, manifest, tensors);
  CalibrationReport report;
  try {
    // Calibrated on mean-pooled clips, as these packs always were, so that a pack converted today
    // carries the threshold of the packs already in users' caches whatever the run-time pooling
    // (the default, sustained, is the mean of the frames that show the clip's expression, or of
    // its surest frame when none does: on a steady face it scores like the mean, and on a clip
    // with a brief expression like the mean of the frames that carry it).
    ModelOptions calibration_options;
    calibration_options.pooling = "mean";
    auto model = ExpressionModel::load(provisional, calibration_options);
    // Crops placed as the pack asks, so that the threshold holds for what the chain feeds it.
    const FaceAlignment alignment =
        parse_face_alignment(manifest["input"].value("alignment", std::string("none")));
    report = calibrate_open_set(*model, photos_dir, chosen_rule, target_tpr, alignment);
  } catch (...) {
    std::error_code ec;
    fs::remove(provisional, ec);
    throw;
  }
  std::error_code ec;
  fs::remove(provisional, ec);
  manifest["open_set"]["score"] = report.chosen_rule;
  manifest["open_set"]["unknown_threshold"] = report.chosen_threshold;
  manifest["open_set"]["calibration"] = calibration_json(report);
  write_pack(path, manifest, tensors);
  return report;
}

}  // namespace hesp::models

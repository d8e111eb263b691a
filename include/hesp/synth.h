// SPDX-License-Identifier: LGPL-2.1-or-later
// Synthetic expression videos: procedurally drawn faces whose expression unfolds over a clip
// (neutral onset, apex, offset), with a caption of what the face does. Identity, head pose,
// lighting, background and sensor noise vary per clip, driven only by an explicit seed, so the same
// seed always gives the same pixels. Used to train and test the pipeline end to end without a
// licensed data set; see docs/synth.md for the action parameters of every class.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hesp/image.h"

namespace hesp::synth {

// Facial action parameters, loosely after FACS action units. Values are unitless, about -1..1
// (0 = neutral), except the head angles, which are degrees. "Left"/"right" are as seen by the
// viewer of the image.
enum class Action : int {
  kBrowRaise,       // AU1+2: whole brows up (+) or down (-)
  kBrowInnerRaise,  // AU1: inner ends of the brows up, brows slant
  kBrowDraw,        // AU4: brows pulled down and together, vertical furrows between them
  kLidOpen,         // AU5 (+): upper lids raised, eyes wide; (-) lids tightened/drooping
  kCheekRaise,      // AU6: cheeks up, lower lids pushed up, crow's feet
  kNoseWrinkle,     // AU9
  kUpperLipRaise,   // AU10
  kLipCornerLeft,   // AU12 (+) pull up / AU15 (-) depress, corner on the image's left
  kLipCornerRight,  // same for the corner on the image's right
  kLipStretch,      // AU20 (+) lips pulled sideways; (-) mouth rounded and narrowed
  kLipPress,        // AU24: lips pressed thin
  kChinRaise,       // AU17: lower lip and chin pushed up
  kJawDrop,         // AU26/27: mouth opens
  kGazeX,           // eyes turn right (+) / left (-)
  kGazeY,           // eyes turn down (+) / up (-)
  kHeadPitch,       // degrees, + = head bows down
  kHeadYaw,         // degrees, + = head turns towards the image's right
  kHeadRoll,        // degrees, + = head tilts clockwise in the image
  kBlink,           // 0 = open, 1 = lids closed
  kCount
};
constexpr int kActionCount = static_cast<int>(Action::kCount);

// snake_case name, e.g. "brow_inner_raise".
const char* action_name(Action action);

struct FaceActions {
  std::array<float, kActionCount> value{};

  float& operator[](Action a) { return value[static_cast<int>(a)]; }
  float operator[](Action a) const { return value[static_cast<int>(a)]; }
};

// An expression class as it appears in annotation files: id and single-word name.
struct ExpressionClass {
  int id = 0;
  std::string name;
};

// The 11 MAFW classes with their MAFW ids (0 Angry ... 10 Disappointment).
std::vector<ExpressionClass> mafw_classes();
// The 7 DFEW classes with DFEW ids (official label - 1: 0 Happy ... 6 Fear).
std::vector<ExpressionClass> dfew_classes();
// Names of the expressions the generator can draw (the MAFW class names).
std::vector<std::string> expression_names();

// Parses a class list: "mafw", "dfew", or comma-separated names ("Happy,Sad,Angry", ids = list
// positions) or id:name pairs ("3:Happy,5:Sad"). Names match expression_names() case-insensitively
// and come back spelled as there. Throws SettingsError for unknown names or repeated ids/names.
std::vector<ExpressionClass> parse_classes(const std::string& spec);

// The typical apex of an expression before per-clip variation (docs/synth.md tabulates these).
// Throws SettingsError for an unknown name.
FaceActions nominal_apex(const std::string& expression);

struct ClipSettings {
  int size = 224;  // frames are size x size
  int n_frames = 16;
  double fps = 10.0;  // times blinks and idle motion; the frame rate of video files
  // Blinks, small head sway and gaze wander that every face shows, whatever its expression.
  bool idle_motion = true;
  // Sensor noise, blur and lighting variation; off gives clean frames (useful in tests).
  bool camera_effects = true;
  // Captions say who is seen (hair, glasses) and where (walls, light) as well as what the face
  // does. Off: only what the face does, so a caption can be matched to its clip by the expression
  // alone (small contrastive pre-training runs otherwise learn to match hair and walls).
  bool caption_context = true;
};

// Throws SettingsError naming the bad value.
void validate(const ClipSettings& settings);

// Expression timing in frames (fractional): intensity 0 until onset_start, rising to 1 at
// apex_start, 1 until apex_end, falling to `residual` at offset_end and staying there.
struct ExpressionTiming {
  float onset_start = 0.f;
  float apex_start = 0.f;
  float apex_end = 0.f;
  float offset_end = 0.f;
  float residual = 0.f;
};

struct Point {
  float x = 0.f;
  float y = 0.f;
};

// Landmarks in output pixel coordinates; Left/Right as seen in the image.
enum class Landmark : int {
  kBrowInnerLeft,
  kBrowPeakLeft,
  kBrowOuterLeft,
  kBrowInnerRight,
  kBrowPeakRight,
  kBrowOuterRight,
  kEyeTopLeft,
  kEyeBottomLeft,
  kIrisLeft,
  kEyeTopRight,
  kEyeBottomRight,
  kIrisRight,
  kNoseTip,
  kMouthCornerLeft,
  kMouthCornerRight,
  kUpperLipTop,
  kUpperLipInner,
  kLowerLipInner,
  kLowerLipBottom,
  kChin,
  kCount
};
constexpr int kLandmarkCount = static_cast<int>(Landmark::kCount);
using Landmarks = std::array<Point, kLandmarkCount>;

// One synthetic clip. Everything about it follows from (expression, seed, settings). The seed alone
// fixes identity, pose, scene, lighting and idle motion; the expression adds its own variation on
// top, so two clips with the same seed and different expressions show the same person in the same
// scene making different faces.
class SyntheticClip {
 public:
  // Throws SettingsError for an unknown expression or bad settings.
  SyntheticClip(const std::string& expression, std::uint64_t seed, ClipSettings settings = {});
  ~SyntheticClip();
  SyntheticClip(SyntheticClip&&) noexcept;
  SyntheticClip& operator=(SyntheticClip&&) noexcept;

  const std::string& expression() const;
  std::uint64_t seed() const;
  const ClipSettings& settings() const;

  const ExpressionTiming& timing() const;
  // Expression intensity at a frame, 0..1 (the envelope of `timing()`).
  float intensity(int frame) const;
  // The expression's actions at full intensity, after this clip's variation.
  const FaceActions& apex() const;
  // All actions at a frame: apex scaled by intensity plus the clip's dynamics (gaze shifts, head
  // shakes) and idle motion (blinks, sway).
  FaceActions actions(int frame) const;
  // A sentence describing what the face does, from the actions and their timing.
  const std::string& caption() const;
  // The frame with the largest intensity (first of them).
  int apex_frame() const;

  // Writes frame `index` as size*size*3 RGB bytes.
  void render(int index, std::uint8_t* rgb) const;
  // Renders with explicit actions instead of the clip's own (same identity, scene, pose sway and
  // noise as frame `index`): for comparisons in tests and for previews.
  void render_actions(int index, const FaceActions& actions, std::uint8_t* rgb) const;
  Landmarks landmarks(int index) const;
  Landmarks landmarks_for(int index, const FaceActions& actions) const;
  // Bounding box of the head (without hair) at a frame, in pixels.
  Box face_box(int index) const;

  // Facts about the clip as one JSON object (seed, timing, apex actions, identity summary...).
  std::string metadata_json() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class ImageFormat { kPng, kJpeg };

// Stores finished clips. write() is called from several threads at once, for different stems.
class ClipWriter {
 public:
  virtual ~ClipWriter() = default;
  // Stores n_frames RGB frames (size*size*3 bytes each) under `out_dir` at `stem` (a relative path
  // without extension, e.g. "train/Happy/0003") and returns the path as it goes into the
  // annotation files, relative to out_dir.
  virtual std::string write(const std::string& out_dir, const std::string& stem,
                            const std::vector<std::vector<std::uint8_t>>& frames, int size,
                            double fps) = 0;
};

// One folder per clip, frames named 00001.png, 00002.png, ... (or .jpg), as MAFW and DFEW ship
// their frames.
class FrameFolderWriter : public ClipWriter {
 public:
  explicit FrameFolderWriter(ImageFormat format = ImageFormat::kPng, int jpeg_quality = 95);
  std::string write(const std::string& out_dir, const std::string& stem,
                    const std::vector<std::vector<std::uint8_t>>& frames, int size,
                    double fps) override;

 private:
  ImageFormat format_;
  int jpeg_quality_;
};

struct DatasetOptions {
  std::string out_dir;
  std::uint64_t seed = 0;
  int train_per_class = 16;
  int test_per_class = 4;
  ClipSettings clip;
  std::vector<ExpressionClass> classes = mafw_classes();
  int threads = 0;         // clips rendered in parallel; 0 = one per hardware thread
  bool overwrite = false;  // replace a data set already in out_dir
  // Face-aligned clips, as MAFW and DFEW ship them: each clip is rendered at twice the size and
  // cut to one square around the face (the union of its per-frame boxes, widened by face_margin
  // on every side, as hesp::square_around does), so the face fills the frame.
  bool face_crop = false;
  float face_margin = 0.1f;
};

void validate(const DatasetOptions& options);

struct DatasetClip {
  std::string path;   // relative to the data set folder, as in the annotation files
  std::string split;  // "train" or "test"
  int label_id = 0;
  std::string label;
  int n_frames = 0;
  std::uint64_t seed = 0;
  std::string caption;
};

struct DatasetSummary {
  std::vector<DatasetClip> clips;  // train clips first, then test, by class then index
  std::vector<std::string> files;  // annotation-type files written, relative to out_dir
};

// Seed of clip `index` of a class in a split: a hash of the data set seed and those three, so a
// clip does not change when other clips are added.
std::uint64_t clip_seed(std::uint64_t dataset_seed, const std::string& split, int class_id,
                        int index);

// Writes the data set: clips through `writer`, then train.txt / test.txt (lines
// "<path> <num_frames> <label_id> <LabelText>"), classes.txt ("<id> <Name>"), captions.tsv
// ("<path>\t<caption>") and metadata.jsonl (one JSON object per clip). `progress` (optional) is
// called with (clips done, clips total), from one thread at a time.
using ProgressFn = std::function<void(int, int)>;
DatasetSummary write_dataset(const DatasetOptions& options, ClipWriter& writer,
                             const ProgressFn& progress = nullptr);

// A contact sheet PNG: one row per class, `columns` clips each shown at their apex frame, with the
// class name. For a quick look at what a data set contains.
void write_preview(const std::string& png_path, const std::vector<ExpressionClass>& classes,
                   std::uint64_t seed, int columns, int tile_size);

}  // namespace hesp::synth

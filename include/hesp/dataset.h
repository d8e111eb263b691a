// SPDX-License-Identifier: LGPL-2.1-or-later
// Video expression data sets as MAFW, DFEW and `hesp synth` lay them out: annotation files,
// frame folders and video files, segment sampling, clip-consistent augmentation and the open-set
// known/unknown class splits. Torch-free: clips come back as RGB bytes (see docs/datasets.md).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace hesp::data {

// ---------------------------------------------------------------------------------------------
// Class lists (index = class id).

// 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Neutral, 5 Sad, 6 Surprise, 7 Contempt, 8 Anxiety,
// 9 Helplessness, 10 Disappointment.
const std::vector<std::string>& mafw_class_names();
// Official DFEW label - 1: 0 Happy, 1 Sad, 2 Neutral, 3 Angry, 4 Surprise, 5 Disgust, 6 Fear.
const std::vector<std::string>& dfew_class_names();
// AFEW's id order is not published with the splits; the alphabetical order of its class folders
// (Angry, Disgust, Fear, Happy, Neutral, Sad, Surprise) is assumed.
const std::vector<std::string>& afew_class_names();
// Names of "mafw", "dfew" or "afew" (case-insensitive); throws SettingsError otherwise.
const std::vector<std::string>& class_names(const std::string& dataset);

// Reads a classes file, one "<id> <Name>" per line (what `hesp synth` writes), into a list
// indexed by id. Ids may leave gaps (a subset of MAFW's classes keeps MAFW ids); gaps are empty
// names, which no label may use. Throws FileNotFoundError / CorruptFileError (with file:line).
std::vector<std::string> read_class_file(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Annotation files: one item per line, whitespace-separated:
//   <path> <num_frames> <label_id> [<LabelText>]
// (MAFW and hesp synth write four columns, DFEW-style files may omit the label text). Blank lines
// and lines starting with '#' are ignored. <path> is a frame folder or a video file, relative to
// the root (absolute paths are taken as they are).

enum class MediaKind { kUnknown, kFrameFolder, kVideo };

struct AnnotationItem {
  std::string path;        // resolved against the root
  std::string rel_path;    // as written in the file
  int num_frames = 0;      // as annotated
  int label = 0;           // class id; after apply_split the known-class index, -1 for unknown
  int original_label = 0;  // the class id in the file, kept through apply_split
  std::string label_text;  // empty for 3-column lines
  std::string source;      // annotation file
  int line = 0;            // 1-based line in `source`
  MediaKind kind = MediaKind::kUnknown;  // set when media are checked
  int available_frames = 0;  // frames found (folder) or reported (video); 0 = not checked

  // Frames to sample from: what was found when known, else the annotated count.
  int frame_count() const { return available_frames > 0 ? available_frames : num_frames; }
};

enum class SkipReason {
  kColumns,          // not 3 or 4 columns
  kFrameCount,       // num_frames not a positive integer
  kLabel,            // label id not an integer in the class list (or text does not match)
  kMissingPath,      // media path does not exist
  kEmptyFolder,      // frame folder without image files
  kUnreadableVideo,  // file that OpenCV cannot decode
};
const char* skip_reason_name(SkipReason reason);

struct SkippedItem {
  SkipReason reason;
  std::string message;  // "<file>:<line>: <what is wrong>"
};

struct AnnotationOptions {
  // Folder that relative media paths start from; empty = the annotation file's folder.
  std::string root;
  // When not empty, label ids must index a non-empty name of this list; with check_label_text,
  // 4-column lines must also name the class (case-insensitive). Empty = any non-negative id.
  std::vector<std::string> class_names;
  bool check_label_text = false;
  // Check every item's media: the path exists, a frame folder holds images, a video opens.
  bool check_media = true;
  // Skip bad lines instead of failing on the first; they are listed in Annotations::skipped.
  bool skip_bad = false;
};

struct Annotations {
  std::vector<AnnotationItem> items;
  std::vector<SkippedItem> skipped;
  int lines = 0;  // item lines read (not counting blank and comment lines)
  // Items whose frame folder or video holds a different number of frames than annotated
  // (sampling uses what was found).
  int frame_count_mismatches = 0;

  // One line for logs, e.g. "skipped 3 of 120 items: 2 missing path, 1 label".
  std::string skip_summary() const;
};

// Throws FileNotFoundError (annotation file or media path missing) or CorruptFileError (bad
// line, empty folder, unreadable video); messages start with "<file>:<line>: ". With skip_bad,
// only a missing or unreadable annotation file throws.
Annotations read_annotations(const std::string& file, const AnnotationOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Media.

// Image files of a frame folder (.jpg .jpeg .png .bmp .webp .tif .tiff) in natural order
// ("2.jpg" before "10.jpg"), as full paths.
std::vector<std::string> list_frames(const std::string& folder);

struct RgbFrame {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;  // width*height*3
};

// The frames at the given 0-based indices (repeats allowed, any order) of a frame folder or video
// file. Throws FileNotFoundError / CorruptFileError, and InputError for an index past the end.
std::vector<RgbFrame> read_frames(const std::string& path, const std::vector<int>& indices);

// ---------------------------------------------------------------------------------------------
// Segment sampling: the clip is cut into T segments of equal length (segment i covers frames
// [i*n/T, (i+1)*n/T)); training draws one frame uniformly inside each segment, testing takes the
// segment's centre frame floor((i+0.5)*n/T).

enum class SamplingMode { kTrain, kTest };

// Clips with fewer frames than segments: kStretch spreads the frames evenly over the T slots
// (0,0,1,1,2,2,...), keeping the time course; kRepeatLast takes 0..n-1 and repeats the last
// frame, as the released HESP/DFER-CLIP code does.
enum class ShortClipPolicy { kStretch, kRepeatLast };

// Random draws use `rng`'s raw output only (not std:: distributions), so the indices are the
// same with every standard library. Throws InputError for num_frames < 1 or num_segments < 1.
std::vector<int> sample_indices(int num_frames, int num_segments, SamplingMode mode,
                                std::mt19937& rng,
                                ShortClipPolicy policy = ShortClipPolicy::kStretch);

// ---------------------------------------------------------------------------------------------
// Clip-consistent augmentation: one set of random parameters per clip, applied to every frame.

struct AugmentOptions {
  int size = 224;      // output frames are size x size
  bool train = false;  // false: resize only
  float flip_probability = 0.5f;
  float min_area = 0.08f, max_area = 1.f;              // random-resized-crop area range
  float min_ratio = 3.f / 4.f, max_ratio = 4.f / 3.f;  // and aspect-ratio range
};

// Crop box in the size x size resized frame, plus the flip.
struct AugmentParams {
  bool flip = false;
  int x = 0, y = 0, width = 0, height = 0;
};

// Training: flip with flip_probability, then a random-resized-crop box drawn as torchvision does
// (10 tries of area and log-uniform ratio, then the whole frame). Test: the whole frame.
AugmentParams sample_augment(const AugmentOptions& options, std::mt19937& rng);

// Flip, resize to size x size, crop the box and scale it back to size x size (the resize and
// crop are done as one resampling). Writes size*size*3 RGB bytes.
void augment_frame(const RgbFrame& frame, const AugmentParams& params, int size, std::uint8_t* out);

// ---------------------------------------------------------------------------------------------
// Loading a clip.

struct ClipLoaderOptions {
  int num_segments = 8;  // T
  SamplingMode mode = SamplingMode::kTest;
  ShortClipPolicy short_clips = ShortClipPolicy::kStretch;
  AugmentOptions augment;  // augment.train should match mode
  std::uint64_t seed = 0;
};

// T frames of size x size RGB, packed one after another like hesp::Clip::frames.
struct ClipSample {
  int n_frames = 0;
  int size = 0;
  std::vector<std::uint8_t> frames;
  std::vector<int> frame_indices;  // source frame of each slot
  int label = 0;
  AugmentParams augment;
};

// Samples, reads and augments one item. Everything random follows from (options.seed, epoch,
// index), so a clip is the same whichever thread loads it and in whatever order.
ClipSample load_clip(const AnnotationItem& item, const ClipLoaderOptions& options,
                     std::uint64_t epoch = 0, std::uint64_t index = 0);

// ---------------------------------------------------------------------------------------------
// Open-set splits: K known classes (relabelled 0..K-1 in list order), the rest unknown.

struct OpenSetSplit {
  std::string spec;                      // as parsed, e.g. "mafw:8:0"
  std::string dataset;                   // "mafw", "dfew", "afew" or "custom"
  std::vector<int> known;                // class ids; known label k = known[k]
  std::vector<std::string> class_names;  // all classes of the data set (empty for custom)

  std::vector<std::string> known_names() const;
  // Ids in [0, num_classes) that are not known, ascending.
  std::vector<int> unknown(int num_classes) const;
};

// The published known-class lists (METHOD.md): mafw 3/5/6/8, dfew 2/3/4/5, afew 2/3/4/5 known,
// five lists each. Throws SettingsError for other combinations.
const std::vector<std::vector<int>>& published_splits(const std::string& dataset, int known);

// "mafw:8:0" (data set, known count, list number 0-4), "mafw:4,2,5" or "mafw:Happy,Sad,Fear"
// (custom list of ids or names), "custom:0,3,5" (ids of any data set). Throws SettingsError.
OpenSetSplit parse_split(const std::string& spec);

struct SplitItems {
  std::vector<AnnotationItem> known;    // label = known-class index 0..K-1
  std::vector<AnnotationItem> unknown;  // label = -1
};

// original_label decides: in split.known -> known (relabelled), otherwise unknown.
SplitItems apply_split(const std::vector<AnnotationItem>& items, const OpenSetSplit& split);

}  // namespace hesp::data

namespace hesp::data {

// Holds out about `fraction` of each class's items (at least one per class with two or more
// items) for validation, chosen by `seed`; both parts keep the input order. Throws SettingsError
// for a fraction outside [0, 1).
struct HeldOut {
  std::vector<AnnotationItem> train;
  std::vector<AnnotationItem> validation;
};
HeldOut hold_out(const std::vector<AnnotationItem>& items, double fraction, std::uint64_t seed);

}  // namespace hesp::data

// SPDX-License-Identifier: LGPL-2.1-or-later
// ExpressionModel::load and what every pack kind shares. Torch-free: each kind's LibTorch code is
// behind its loader in the pack-kind registry (models/pack_kinds.def).
#include "hesp/expression_model.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "models/clip_frames.h"
#include "models/frame_cache.h"
#include "models/frame_pooling.h"
#include "models/open_set.h"
#include "models/pack_kinds.h"
#include "models/precision.h"

namespace hesp {

ExpressionModel::ExpressionModel(const ModelPack& pack, const ModelOptions& options)
    : path_(pack.path()), device_(options.device) {
  const PackHeader& h = pack.header();
  name_ = h.name;
  kind_ = h.kind;
  class_names_ = h.classes;
  score_rule_ = h.score_rule;
  default_unknown_threshold_ = h.unknown_threshold;
  input_size_ = h.input_size;
  frames_per_clip_ = h.frames_per_clip;
  face_margin_ = h.face_margin;
  const auto& manifest = pack.manifest();
  if (manifest.contains("pooling")) {
    if (!manifest["pooling"].is_string())
      throw CorruptFileError("model pack '" + path_ + "': manifest 'pooling' must be a string");
    pack_pooling_ = manifest["pooling"].get<std::string>();
  }
}

void ExpressionModel::choose_pooling(const std::string& requested, const std::string& pack) {
  if (!pools_frame_logits()) {
    if (requested != "auto")
      throw SettingsError("model pack '" + path_ + "' (kind " + kind_ +
                          ") pools frames inside its network; frame pooling must be auto, not '" +
                          requested + "'");
    return;
  }
  if (requested != "auto") {
    pooling_ = models::frame_pooling_name(models::parse_frame_pooling(requested));
  } else if (!pack.empty()) {
    try {
      pooling_ = models::frame_pooling_name(models::parse_frame_pooling(pack));
    } catch (const SettingsError& e) {
      throw CorruptFileError("model pack '" + path_ + "': manifest 'pooling': " + e.what());
    }
  } else {
    pooling_ = models::frame_pooling_name(models::kDefaultFramePooling);
  }
}

std::vector<double> ExpressionModel::pool_frame_logits(const FrameRows& clip) const {
  const int classes = frame_width();
  int neutral = -1;
  for (std::size_t i = 0; i < class_names_.size(); ++i)
    if (class_names_[i] == "neutral") neutral = static_cast<int>(i);
  return models::pool_frame_logits(models::parse_frame_pooling(pooling_), clip.rows, clip.count,
                                   classes, neutral);
}

ExpressionModel::~ExpressionModel() = default;

std::vector<int> ExpressionModel::frames_used(int n_frames) const {
  std::vector<int> all(n_frames);
  for (int i = 0; i < n_frames; ++i) all[i] = i;
  return all;
}

void ExpressionModel::set_frame_cache(std::size_t max_frames) {
  cache_ = max_frames > 0 ? std::make_unique<models::FrameCache>(max_frames) : nullptr;
}

void ExpressionModel::clear_frame_cache() {
  if (cache_) cache_->clear();
}

namespace {

// The frames of `used` that lie on the track's grid of every n-th frame: frame f is the track's
// frame first_index + f. A clip that holds none of them keeps its first frame, so every clip still
// gets a result.
std::vector<int> on_track_grid(const std::vector<int>& used, std::uint64_t first_index, int n) {
  if (n <= 1 || used.empty()) return used;
  const auto step = static_cast<std::uint64_t>(n);
  std::vector<int> picked;
  for (const int f : used)
    if ((first_index + static_cast<std::uint64_t>(f)) % step == 0) picked.push_back(f);
  if (picked.empty()) picked.push_back(used.front());
  return picked;
}

}  // namespace

void ExpressionModel::set_frame_subsample(int n) {
  if (n < 1) throw SettingsError("frame subsample must be 1 or more, not " + std::to_string(n));
  if (n > 1 && !allows_frame_subsample())
    throw SettingsError("model pack '" + path_ + "' (kind " + kind_ +
                        ") pools consecutive frames in order and cannot skip frames (frame "
                        "subsample must be 1)");
  frame_subsample_ = n;
}

std::vector<ExpressionResult> ExpressionModel::classify(const std::vector<ClipView>& clips,
                                                        double unknown_threshold) {
  if (std::isnan(unknown_threshold)) throw SettingsError("the unknown threshold is NaN");
  if (clips.empty()) return {};
  models::count_clip_frames(clips);  // names an empty clip

  // Where each used frame's row comes from: the cache, or the forward pass below (index into
  // `run`). A frame that two clips of this call share runs once.
  struct Source {
    const std::vector<float>* cached = nullptr;
    std::size_t computed = 0;
  };
  using FrameKey = std::pair<std::uint64_t, std::uint64_t>;
  std::vector<std::vector<Source>> sources(clips.size());
  std::vector<ClipView> run;       // one single-frame view per frame to compute
  std::vector<FrameKey> run_keys;  // their cache keys (when the clip has keys)
  std::vector<bool> run_keyed;
  std::map<FrameKey, std::size_t> in_this_call;
  std::uint64_t reused = 0;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const ClipView& c = clips[i];
    const std::size_t frame_bytes = static_cast<std::size_t>(c.crop_size) * c.crop_size * 3;
    for (const int f : on_track_grid(frames_used(c.n_frames), c.first_index, frame_subsample_)) {
      const bool keyed = cache_ && c.frame_keys;
      const FrameKey key{c.track, keyed ? c.frame_keys[f] : 0};
      if (keyed) {
        if (const std::vector<float>* row = cache_->find(key.first, key.second)) {
          sources[i].push_back({row, 0});
          ++reused;
          continue;
        }
        if (const auto it = in_this_call.find(key); it != in_this_call.end()) {
          sources[i].push_back({nullptr, it->second});
          ++reused;
          continue;
        }
        in_this_call.emplace(key, run.size());
      }
      sources[i].push_back({nullptr, run.size()});
      run.push_back(ClipView{c.rgb + f * frame_bytes, 1, c.crop_size});
      run_keys.push_back(key);
      run_keyed.push_back(keyed);
    }
  }

  const std::size_t width = static_cast<std::size_t>(frame_width());
  const std::vector<float> rows = run.empty() ? std::vector<float>() : frame_features(run);
  if (rows.size() != run.size() * width)
    throw Error("model pack '" + path_ + "': the network gave " + std::to_string(rows.size()) +
                " values for " + std::to_string(run.size()) + " frames of " +
                std::to_string(width));
  frames_computed_ += run.size();
  frames_reused_ += reused;

  // Each clip's rows side by side, then the kind pools them. The cache changes only afterwards,
  // since the sources point into it.
  std::vector<std::vector<float>> gathered(clips.size());
  std::vector<FrameRows> blocks(clips.size());
  for (std::size_t i = 0; i < clips.size(); ++i) {
    std::vector<float>& g = gathered[i];
    g.reserve(sources[i].size() * width);
    for (const Source& s : sources[i]) {
      const float* row = s.cached ? s.cached->data() : rows.data() + s.computed * width;
      g.insert(g.end(), row, row + width);
    }
    blocks[i] = FrameRows{g.data(), static_cast<int>(sources[i].size())};
  }
  std::vector<std::vector<double>> logits = clip_logits(blocks);
  for (std::size_t r = 0; r < run.size(); ++r)
    if (run_keyed[r])
      cache_->insert(run_keys[r].first, run_keys[r].second,
                     std::vector<float>(rows.begin() + r * width, rows.begin() + (r + 1) * width));

  std::vector<ExpressionResult> results;
  results.reserve(clips.size());
  for (auto& l : logits)
    results.push_back(
        models::result_from_logits(std::move(l), class_names_, score_rule_, unknown_threshold));
  return results;
}

void ExpressionModel::add_classes(const std::vector<std::string>&) {
  throw SettingsError("model pack '" + path_ + "' (kind " + kind_ +
                      "): this pack kind cannot add classes");
}

std::unique_ptr<ExpressionModel> ExpressionModel::load(const std::string& pack_path,
                                                       const ModelOptions& options) {
  if (options.threads < 0)
    throw SettingsError("threads must be 0 (leave as is) or positive, not " +
                        std::to_string(options.threads));
  models::check_precision_setting(options.precision);
  const ModelPack pack = ModelPack::open(pack_path);
  const std::string kind = pack.kind();
  if (const models::PackKind* k = models::find_pack_kind(kind)) {
    std::unique_ptr<ExpressionModel> model = k->load(pack, options);
    model->choose_pooling(options.pooling, model->pack_pooling_);
    return model;
  }
  throw SettingsError(
      "model pack '" + pack_path + "' is of kind '" + kind +
      "', which this build of hesp cannot run (supported: " + models::pack_kind_names() + ")");
}

}  // namespace hesp

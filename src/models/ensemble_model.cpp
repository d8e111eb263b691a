// SPDX-License-Identifier: LGPL-2.1-or-later
// ensemble packs: member packs (embedded whole, as U8 tensors "member.N") run side by side on every
// frame; a clip's result is the weighted mean of the members' softmax probabilities over the
// classes they share, its logits the logarithms of those means. Torch-free: the members are
// ExpressionModels of their own kinds.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "models/pack_kinds.h"
#include "models/pack_support.h"

namespace hesp {

namespace models {

// What an ensemble needs of its members beyond the public API.
struct MemberAccess {
  static int frame_width(const ExpressionModel& m) { return m.frame_width(); }
  static std::vector<float> frame_features(ExpressionModel& m, const std::vector<ClipView>& f) {
    return m.frame_features(f);
  }
  static std::vector<std::vector<double>> clip_logits(ExpressionModel& m,
                                                      const std::vector<const float*>& rows,
                                                      const std::vector<int>& counts) {
    std::vector<ExpressionModel::FrameRows> clips(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) clips[i] = {rows[i], counts[i]};
    return m.clip_logits(clips);
  }
  static std::vector<int> frames_used(const ExpressionModel& m, int n) { return m.frames_used(n); }
};

}  // namespace models

namespace {

// Smallest probability whose logarithm the ensemble reports: a class no member gives any weight
// gets a large finite negative logit instead of -infinity, which JSON cannot carry.
constexpr double kMinProbability = 1e-300;

// Loads a member from the bytes the ensemble pack embeds, through an anonymous in-memory file
// (ModelPack maps files; the mapping keeps the memory alive after the descriptor is closed).
std::unique_ptr<ExpressionModel> load_member(const TensorInfo& bytes, const std::string& label,
                                             const ModelOptions& options,
                                             const std::string& pack_path) {
  const int fd = ::memfd_create(label.c_str(), MFD_CLOEXEC);
  if (fd < 0)
    throw Error(models::pack_error(
        pack_path, "cannot make an in-memory file for " + label + ": " + std::strerror(errno)));
  const auto* p = static_cast<const char*>(bytes.data);
  std::size_t left = bytes.nbytes;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw Error(
          models::pack_error(pack_path, "cannot unpack " + label + ": " + std::strerror(err)));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  try {
    auto model = ExpressionModel::load("/proc/self/fd/" + std::to_string(fd), options);
    ::close(fd);
    return model;
  } catch (const FileNotFoundError& e) {
    ::close(fd);
    throw CorruptFileError(models::pack_error(pack_path, label + ": " + e.what()));
  } catch (const CorruptFileError& e) {
    ::close(fd);
    throw CorruptFileError(models::pack_error(pack_path, label + ": " + e.what()));
  } catch (...) {
    ::close(fd);
    throw;
  }
}

class EnsembleModel final : public ExpressionModel {
 public:
  EnsembleModel(const ModelPack& pack, const ModelOptions& options)
      : ExpressionModel(pack, options) {
    const nlohmann::json& m = pack.manifest();
    if (!m.contains("members") || !m["members"].is_array() || m["members"].size() < 2)
      throw CorruptFileError(pack_error("manifest 'members' must list two or more member packs"));
    double weight_sum = 0.0;
    for (std::size_t i = 0; i < m["members"].size(); ++i) {
      const nlohmann::json& spec = m["members"][i];
      const std::string label = "member " + std::to_string(i);
      if (!spec.is_object() || !spec.contains("tensor") || !spec["tensor"].is_string())
        throw CorruptFileError(pack_error(label + ": manifest entry lacks 'tensor'"));
      const TensorInfo& bytes = pack.tensor(spec["tensor"].get<std::string>());
      if (bytes.dtype != DType::kU8 || bytes.shape.size() != 1)
        throw CorruptFileError(pack_error("tensor '" + bytes.name +
                                          "' must be U8 of one dimension (a pack file's bytes)"));
      Member member;
      member.weight = spec.value("weight", 1.0);
      if (!(member.weight >= 0.0) || !std::isfinite(member.weight))
        throw CorruptFileError(pack_error(label + ": weight must be a non-negative number"));
      weight_sum += member.weight;
      member.model = load_member(bytes, label, options, path_);
      const ExpressionModel& mm = *member.model;
      for (const std::string& c : class_names_) {
        const auto& names = mm.class_names();
        const auto it = std::find(names.begin(), names.end(), c);
        if (it == names.end())
          throw CorruptFileError(
              pack_error(label + " ('" + mm.name() + "') has no class '" + c + "'"));
        member.class_index.push_back(static_cast<int>(it - names.begin()));
      }
      if (mm.face_margin() > face_margin_ + 1e-9)
        throw CorruptFileError(pack_error(label + " wants a face margin of " +
                                          std::to_string(mm.face_margin()) +
                                          ", more than the ensemble's crops hold"));
      // The part of the ensemble's crop the member's own margin covers (square_around: the side is
      // the face box times 1 + 2 x margin).
      member.crop_fraction = (1.0 + 2.0 * mm.face_margin()) / (1.0 + 2.0 * face_margin_);
      const std::vector<int> used = models::MemberAccess::frames_used(mm, 16);
      for (int f = 0; f < static_cast<int>(used.size()); ++f)
        if (used.size() != 16 || used[f] != f)
          throw SettingsError(pack_error(label + " (kind " + mm.kind() +
                                         ") looks at chosen frames of a clip only; ensemble "
                                         "members must look at every frame"));
      width_ += models::MemberAccess::frame_width(mm);
      members_.push_back(std::move(member));
    }
    if (!(weight_sum > 0.0)) throw CorruptFileError(pack_error("the members' weights sum to 0"));
    for (Member& member : members_) member.weight /= weight_sum;
  }

  bool allows_frame_subsample() const override {
    return std::all_of(members_.begin(), members_.end(),
                       [](const Member& m) { return m.model->allows_frame_subsample(); });
  }

  // Each frame's row: the members' rows one after the other.
  int frame_width() const override { return width_; }

  std::vector<float> frame_features(const std::vector<ClipView>& frames) override {
    const std::size_t n = frames.size();
    std::vector<float> out(n * static_cast<std::size_t>(width_));
    std::size_t column = 0;
    for (Member& member : members_) {
      std::vector<std::vector<std::uint8_t>> crops;
      const std::vector<ClipView> views = member_views(member, frames, crops);
      const std::vector<float> rows = models::MemberAccess::frame_features(*member.model, views);
      const auto w = static_cast<std::size_t>(models::MemberAccess::frame_width(*member.model));
      if (rows.size() != n * w)
        throw Error(pack_error("a member gave " + std::to_string(rows.size()) + " values for " +
                               std::to_string(n) + " frames"));
      for (std::size_t f = 0; f < n; ++f)
        std::copy(rows.begin() + f * w, rows.begin() + (f + 1) * w,
                  out.begin() + f * width_ + column);
      column += w;
    }
    return out;
  }

  // The members are loaded with the same options, so each pools its frames with the pooling
  // chosen here (the ensemble itself averages the members' pooled probabilities).
  bool pools_frame_logits() const override { return true; }

  std::vector<std::vector<double>> clip_logits(const std::vector<FrameRows>& clips) override {
    const std::size_t k = class_names_.size();
    std::vector<std::vector<double>> mean(clips.size(), std::vector<double>(k, 0.0));
    std::size_t column = 0;
    for (Member& member : members_) {
      // The member's columns of every clip, contiguous as its clip_logits expects them.
      const auto w = static_cast<std::size_t>(models::MemberAccess::frame_width(*member.model));
      std::vector<std::vector<float>> blocks(clips.size());
      std::vector<const float*> rows(clips.size());
      std::vector<int> counts(clips.size());
      for (std::size_t i = 0; i < clips.size(); ++i) {
        for (int f = 0; f < clips[i].count; ++f) {
          const float* row = clips[i].rows + static_cast<std::size_t>(f) * width_ + column;
          blocks[i].insert(blocks[i].end(), row, row + w);
        }
        rows[i] = blocks[i].data();
        counts[i] = clips[i].count;
      }
      column += w;
      const auto logits = models::MemberAccess::clip_logits(*member.model, rows, counts);
      for (std::size_t i = 0; i < clips.size(); ++i) add_probabilities(member, logits[i], mean[i]);
    }
    for (auto& p : mean)
      for (double& v : p) v = std::log(std::max(v, kMinProbability));
    return mean;
  }

 private:
  struct Member {
    std::unique_ptr<ExpressionModel> model;
    double weight = 1.0;
    std::vector<int> class_index;  // member class of each ensemble class
    double crop_fraction = 1.0;
  };

  std::string pack_error(const std::string& what) const { return models::pack_error(path_, what); }

  // The member's softmax over all its classes, restricted to the ensemble's classes and
  // renormalised over them, times its weight, added to `mean`.
  static void add_probabilities(const Member& member, const std::vector<double>& logits,
                                std::vector<double>& mean) {
    const double top = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(member.class_index.size());
    double sum = 0.0;
    for (std::size_t j = 0; j < p.size(); ++j)
      sum += p[j] = std::exp(logits[static_cast<std::size_t>(member.class_index[j])] - top);
    for (std::size_t j = 0; j < p.size(); ++j) mean[j] += member.weight * p[j] / sum;
  }

  // The frames as the member wants them: the centre part of each crop that its own face margin
  // covers (the member resizes to its input size itself).
  static std::vector<ClipView> member_views(const Member& member,
                                            const std::vector<ClipView>& frames,
                                            std::vector<std::vector<std::uint8_t>>& crops) {
    if (member.crop_fraction >= 1.0 - 1e-9) return frames;
    std::vector<ClipView> views;
    crops.resize(frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const ClipView& c = frames[i];
      const int s = c.crop_size;
      const int side = std::max(1, static_cast<int>(std::lround(s * member.crop_fraction)));
      const int at = (s - side) / 2;
      const std::size_t frame_bytes = static_cast<std::size_t>(s) * s * 3;
      crops[i].resize(static_cast<std::size_t>(side) * side * 3 * c.n_frames);
      for (int f = 0; f < c.n_frames; ++f) {
        const cv::Mat src(s, s, CV_8UC3, const_cast<std::uint8_t*>(c.rgb + f * frame_bytes));
        cv::Mat dst(side, side, CV_8UC3,
                    crops[i].data() + static_cast<std::size_t>(f) * side * side * 3);
        src(cv::Rect(at, at, side, side)).copyTo(dst);
      }
      views.push_back(ClipView{crops[i].data(), c.n_frames, side});
    }
    return views;
  }

  std::vector<Member> members_;
  int width_ = 0;
};

}  // namespace

namespace models {
HESP_DEFINE_PACK_LOADER(load_ensemble_pack, EnsembleModel)
}  // namespace models

}  // namespace hesp

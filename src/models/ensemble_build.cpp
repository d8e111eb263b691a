// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp convert ensemble`: member packs -> one ensemble pack that embeds them, plus the
// calibration of its own open-set threshold. Torch-free.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "hesp_config.h"
#include "models/open_set_calibration.h"

namespace hesp {

namespace fs = std::filesystem;

EnsembleBuildReport build_ensemble(const EnsembleBuildOptions& options) {
  models::check_calibration_settings(options.score_rule, options.target_tpr);
  if (options.output_path.empty()) throw SettingsError("no output path for the ensemble pack");
  if (options.members.size() < 2)
    throw SettingsError("an ensemble needs two or more member packs, not " +
                        std::to_string(options.members.size()));
  if (!options.weights.empty() && options.weights.size() != options.members.size())
    throw SettingsError("give one weight per member: " + std::to_string(options.members.size()) +
                        " members, " + std::to_string(options.weights.size()) + " weights");
  double weight_sum = 0.0;
  for (double w : options.weights) {
    if (!(w >= 0.0) || !std::isfinite(w))
      throw SettingsError("member weights must be non-negative numbers");
    weight_sum += w;
  }
  if (!options.weights.empty() && !(weight_sum > 0.0))
    throw SettingsError("the member weights sum to 0");

  EnsembleBuildReport report;
  report.output_path = options.output_path;
  std::vector<std::vector<std::uint8_t>> files;
  nlohmann::json members = nlohmann::json::array(), provenance = nlohmann::json::array();
  int frames_per_clip = 1;
  for (std::size_t i = 0; i < options.members.size(); ++i) {
    const std::string& path = options.members[i];
    // Loading checks that this build runs the member (and reads its manifest).
    const auto model = ExpressionModel::load(path);
    const ModelPack pack = ModelPack::open(path);
    std::ifstream in(path, std::ios::binary);
    files.emplace_back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (files.back().size() != pack.file_size())
      throw CorruptFileError("cannot read model pack '" + path + "' whole");
    if (i == 0) {
      report.classes = model->class_names();
    } else {
      // The intersection, in the first member's order.
      const auto& theirs = model->class_names();
      report.classes.erase(std::remove_if(report.classes.begin(), report.classes.end(),
                                          [&](const std::string& c) {
                                            return std::find(theirs.begin(), theirs.end(), c) ==
                                                   theirs.end();
                                          }),
                           report.classes.end());
    }
    report.member_names.push_back(model->name());
    report.input_size = std::max(report.input_size, model->input_size());
    report.face_margin = std::max(report.face_margin, model->face_margin());
    frames_per_clip = std::max(frames_per_clip, model->frames_per_clip());
    const double weight = options.weights.empty()
                              ? 1.0 / static_cast<double>(options.members.size())
                              : options.weights[i] / weight_sum;
    members.push_back({{"tensor", "member." + std::to_string(i)},
                       {"name", model->name()},
                       {"kind", model->kind()},
                       {"classes", model->class_names()},
                       {"weight", weight},
                       {"input_size", model->input_size()},
                       {"face_margin", model->face_margin()},
                       {"file", fs::path(path).filename().string()},
                       {"bytes", files.back().size()}});
    provenance.push_back(pack.manifest()["provenance"]);
  }
  if (report.classes.empty())
    throw SettingsError("the member packs share no class; an ensemble averages shared classes");

  std::vector<TensorInfo> tensors;
  for (std::size_t i = 0; i < files.size(); ++i)
    tensors.push_back({"member." + std::to_string(i),
                       DType::kU8,
                       {static_cast<std::int64_t>(files[i].size())},
                       files[i].data(),
                       files[i].size()});
  std::string names;
  for (const auto& n : report.member_names) names += (names.empty() ? "" : " + ") + n;
  const std::string name =
      options.name.empty() ? fs::path(options.output_path).stem().string() : options.name;
  nlohmann::json manifest = {
      {"format_version", kModelPackFormatVersion},
      {"kind", "ensemble"},
      {"name", name},
      {"description", "ensemble of " + names +
                          ": the weighted mean of the members' softmax probabilities over the "
                          "classes they all know"},
      {"classes", report.classes},
      {"architecture",
       {{"type", "ensemble"},
        {"combine", "weighted mean of member softmax probabilities"},
        {"label_set", "intersection (each member's probabilities renormalised over it)"},
        {"logits", "log of the mean probabilities"}}},
      {"input",
       {{"size", report.input_size},
        {"color", "RGB"},
        {"face_margin", report.face_margin},
        {"note",
         "each member gets the centre part of the crop its own face margin covers, "
         "resized to its own input size"}}},
      {"frames_per_clip", frames_per_clip},
      {"clip_pooling", "per member, then averaged probabilities"},
      {"members", members},
      {"open_set", {{"score", options.score_rule}, {"unknown_threshold", 0.0}}},
      {"provenance",
       {{"source", "ensemble of hesp model packs"},
        {"members", provenance},
        {"converted_by", std::string("hesp ") + HESP_VERSION + " convert ensemble"}}},
  };
  report.calibration = models::write_calibrated_pack(options.output_path, manifest, tensors,
                                                     options.calibration_photos, options.score_rule,
                                                     options.target_tpr);
  return report;
}

}  // namespace hesp

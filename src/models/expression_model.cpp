// SPDX-License-Identifier: LGPL-2.1-or-later
// ExpressionModel::load and what every pack kind shares. Torch-free: each kind's LibTorch code is
// behind its loader in the pack-kind registry (models/pack_kinds.def).
#include "hesp/expression_model.h"

#include "hesp/error.h"
#include "hesp/model_pack.h"
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
  if (const models::PackKind* k = models::find_pack_kind(kind)) return k->load(pack, options);
  throw SettingsError(
      "model pack '" + pack_path + "' is of kind '" + kind +
      "', which this build of hesp cannot run (supported: " + models::pack_kind_names() + ")");
}

}  // namespace hesp

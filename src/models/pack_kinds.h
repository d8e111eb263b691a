// SPDX-License-Identifier: LGPL-2.1-or-later
// The registry of model pack kinds: which manifest "kind" is run by which loader. The table itself
// is pack_kinds.def; ExpressionModel::load looks kinds up here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hesp/expression_model.h"

namespace hesp {

class ModelPack;

namespace models {

// Builds the model a pack describes. The pack's common manifest fields are already validated
// (ModelPack::open); a loader checks its kind's own tensors and fields.
using PackLoader = std::unique_ptr<ExpressionModel> (*)(const ModelPack& pack,
                                                        const ModelOptions& options);

struct PackKind {
  const char* name;  // the manifest's "kind"
  PackLoader load;
};

// Defines the loader a pack_kinds.def line names, for a model class constructible from
// (pack, options): HESP_DEFINE_PACK_LOADER(load_x_pack, XModel) in the kind's own file.
#define HESP_DEFINE_PACK_LOADER(loader, Model)                                           \
  std::unique_ptr<::hesp::ExpressionModel> loader(const ::hesp::ModelPack& pack,         \
                                                  const ::hesp::ModelOptions& options) { \
    return std::make_unique<Model>(pack, options);                                       \
  }

// Every kind of pack_kinds.def, in its order.
const std::vector<PackKind>& pack_kinds();

// nullptr when this build has no loader for the kind.
const PackKind* find_pack_kind(const std::string& name);

// "fer-cnn, clip-zeroshot, ..." for messages.
std::string pack_kind_names();

}  // namespace models
}  // namespace hesp

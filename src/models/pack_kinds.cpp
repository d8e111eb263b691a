// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/pack_kinds.h"

#include "hesp/model_pack.h"

namespace hesp::models {

// The loaders, declared from the table so that this file needs none of the kinds' headers (most
// of them pull in LibTorch).
#define HESP_PACK_KIND(kind, loader) \
  std::unique_ptr<ExpressionModel> loader(const ModelPack& pack, const ModelOptions& options);
#include "models/pack_kinds.def"
#undef HESP_PACK_KIND

const std::vector<PackKind>& pack_kinds() {
  static const std::vector<PackKind> kinds = {
#define HESP_PACK_KIND(kind, loader) {kind, &loader},
#include "models/pack_kinds.def"
#undef HESP_PACK_KIND
  };
  return kinds;
}

const PackKind* find_pack_kind(const std::string& name) {
  for (const PackKind& k : pack_kinds())
    if (name == k.name) return &k;
  return nullptr;
}

std::string pack_kind_names() {
  std::string out;
  for (const PackKind& k : pack_kinds()) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

}  // namespace hesp::models

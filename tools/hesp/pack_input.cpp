// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pack_input.h"

#include <nlohmann/json.hpp>

#include "hesp/model_pack.h"

namespace hesp::cli {

PackInput read_pack_input(const std::string& path) {
  const ModelPack pack = ModelPack::open(path);
  const nlohmann::json& m = pack.manifest();
  PackInput in;
  in.size = m.at("input").at("size").get<int>();
  in.margin = m.at("input").value("face_margin", 0.0);
  in.alignment = m.at("input").value("alignment", std::string("none"));
  in.frames_per_clip = m.at("frames_per_clip").get<int>();
  return in;
}

}  // namespace hesp::cli

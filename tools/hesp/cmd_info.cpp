// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp info PACK`: what a model pack holds: its manifest and a summary of its tensors.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "hesp/model_pack.h"

namespace hesp::cli {

namespace {

struct InfoOptions {
  std::string pack;
  bool json = false;
  bool tensors = false;
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The CLIP model a manifest's architecture describes: the object itself (clip-zeroshot, hesp), or
// its "clip" member (emoclip). Null when the pack is not built on CLIP.
const nlohmann::json* clip_architecture(const nlohmann::json& manifest) {
  const auto& a = manifest["architecture"];
  const nlohmann::json* c = a.contains("clip") ? &a["clip"] : &a;
  if (!c->is_object() || !c->contains("type") || !(*c)["type"].is_string() ||
      (*c)["type"].get<std::string>().rfind("openai-clip-", 0) != 0)
    return nullptr;
  return c;
}

// One line on the CLIP model, e.g. "ResNet image tower (bottlenecks 3-4-6-3, width 64, attention
// pool 32 heads), text 12 x 512, embed 1024".
std::string clip_model_text(const nlohmann::json& c) {
  auto num = [&](const char* key) {
    return c.contains(key) && c[key].is_number_integer() ? std::to_string(c[key].get<long long>())
                                                         : std::string("?");
  };
  std::string s;
  if (c["type"].get<std::string>().rfind("openai-clip-resnet", 0) == 0) {
    std::string blocks;
    if (c.contains("vision_layers") && c["vision_layers"].is_array())
      for (const auto& b : c["vision_layers"])
        blocks += (blocks.empty() ? "" : "-") + std::to_string(b.get<long long>());
    s = "CLIP, ResNet image tower (bottlenecks " + blocks + ", width " + num("vision_width") +
        ", attention pool " + num("vision_heads") + " heads)";
  } else {
    s = "CLIP, ViT image tower (patch " + num("patch_size") + ", width " + num("vision_width") +
        ", " + num("vision_layers") + " layers)";
  }
  return s + ", text " + num("text_layers") + " x " + num("text_width") + ", embed " +
         num("embed_dim");
}

nlohmann::json tensor_json(const TensorInfo& t) {
  return {{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}};
}

void run_info(const InfoOptions& opt) {
  const ModelPack pack = ModelPack::open(opt.pack);
  std::int64_t elements = 0;
  std::map<std::string, std::int64_t> by_dtype;
  for (const auto& t : pack.tensors()) {
    elements += t.numel();
    by_dtype[dtype_name(t.dtype)] += t.numel();
  }
  if (opt.json) {
    nlohmann::json out = {{"path", pack.path()},
                          {"file_size", pack.file_size()},
                          {"manifest", pack.manifest()},
                          {"tensor_count", pack.tensors().size()},
                          {"elements", elements}};
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : pack.tensors()) tensors.push_back(tensor_json(t));
    out["tensors"] = tensors;
    std::cout << out.dump(2) << '\n';
    return;
  }
  const auto& m = pack.manifest();
  std::printf("%s\n", pack.path().c_str());
  std::printf("  name      %s (%s, pack format %d)\n", pack.name().c_str(), pack.kind().c_str(),
              m["format_version"].get<int>());
  std::string classes;
  for (const auto& c : m["classes"])
    classes += (classes.empty() ? "" : ", ") + c.get<std::string>();
  std::printf("  classes   %zu: %s\n", m["classes"].size(), classes.c_str());
  std::printf("  input     %d px, %d frames per clip\n", m["input"]["size"].get<int>(),
              m["frames_per_clip"].get<int>());
  if (const nlohmann::json* c = clip_architecture(m))
    std::printf("  model     %s\n", clip_model_text(*c).c_str());
  std::printf("  open set  %s, unknown below %.6g\n",
              m["open_set"]["score"].get<std::string>().c_str(),
              m["open_set"]["unknown_threshold"].get<double>());
  // The kernel the threshold was calibrated with (CLIP-based packs; ModelOptions::precision).
  if (m["open_set"].contains("precision"))
    std::printf("  precision %s (calibrated with; --precision auto runs it)\n",
                m["open_set"]["precision"].get<std::string>().c_str());
  else if (std::any_of(pack.tensors().begin(), pack.tensors().end(),
                       [](const TensorInfo& t) { return t.name.rfind("clip.", 0) == 0; }))
    std::printf("  precision not recorded (an older pack: --precision auto keeps its kernel)\n");
  const auto& p = m["provenance"];
  auto text = [&](const char* key) {
    return p.contains(key) && p[key].is_string() ? p[key].get<std::string>() : std::string("?");
  };
  if (p.contains("package"))
    std::printf("  source    %s %s (%s licence)\n", text("package").c_str(),
                text("version").c_str(), text("license").c_str());
  std::printf("  tensors   %zu, %lld elements (", pack.tensors().size(),
              static_cast<long long>(elements));
  bool first = true;
  for (const auto& [dtype, n] : by_dtype) {
    std::printf("%s%s %lld", first ? "" : ", ", dtype.c_str(), static_cast<long long>(n));
    first = false;
  }
  std::printf("), %zu bytes\n", pack.file_size());
  if (opt.tensors)
    for (const auto& t : pack.tensors())
      std::printf("    %-40s %-5s %s\n", t.name.c_str(), dtype_name(t.dtype),
                  shape_text(t.shape).c_str());
  std::printf("manifest:\n%s\n", m.dump(2).c_str());
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opt = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Show what a model pack holds: manifest and tensors");
  cmd->add_option("pack", opt->pack, "Model pack (.safetensors)")->required();
  cmd->add_flag("--json", opt->json, "Print one JSON document (manifest and every tensor)");
  cmd->add_flag("-t,--tensors", opt->tensors, "List every tensor with dtype and shape");
  cmd->callback([opt] { run_info(*opt); });
}

}  // namespace hesp::cli

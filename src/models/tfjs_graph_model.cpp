// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/tfjs_graph_model.h"

#include <nlohmann/json.hpp>

#include "hesp/error.h"

namespace hesp::models {

namespace {

using nlohmann::json;

// Graph attributes store strings base64-encoded (protobuf bytes in JSON).
std::string base64_decode(const std::string& in) {
  static const std::string table =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int bits = 0;
  unsigned value = 0;
  for (char c : in) {
    const auto at = table.find(c);
    if (at == std::string::npos) continue;  // padding
    value = (value << 6) | static_cast<unsigned>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((value >> bits) & 0xff));
    }
  }
  return out;
}

TfjsGraphNode read_node(const json& n) {
  TfjsGraphNode node;
  node.name = n.value("name", "");
  node.op = n.value("op", "");
  if (n.contains("input") && n["input"].is_array())
    for (const auto& i : n["input"])
      if (i.is_string()) node.inputs.push_back(i.get<std::string>());
  if (!n.contains("attr") || !n["attr"].is_object()) return node;
  const json& attr = n["attr"];
  if (attr.contains("strides") && attr["strides"].contains("list") &&
      attr["strides"]["list"].contains("i"))
    for (const auto& v : attr["strides"]["list"]["i"])
      node.strides.push_back(v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int>());
  if (attr.contains("padding") && attr["padding"].contains("s"))
    node.padding = base64_decode(attr["padding"]["s"].get<std::string>());
  if (attr.contains("fused_ops") && attr["fused_ops"].contains("list") &&
      attr["fused_ops"]["list"].contains("s"))
    for (const auto& v : attr["fused_ops"]["list"]["s"])
      node.fused_ops.push_back(base64_decode(v.get<std::string>()));
  return node;
}

}  // namespace

const TfjsGraphNode* TfjsGraphModel::find(const std::string& name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

TfjsGraphModel read_tfjs_graph_model(const std::string& model_json) {
  const json m = read_tfjs_json(model_json, "graph model");
  auto bad = [&](const std::string& what) {
    return CorruptFileError("TensorFlow.js graph model '" + model_json + "': " + what);
  };
  if (!m.is_object() || m.value("format", "") != "graph-model")
    throw bad("not a graph model (\"format\" is not \"graph-model\")");
  if (!m.contains("modelTopology") || !m["modelTopology"].contains("node") ||
      !m["modelTopology"]["node"].is_array())
    throw bad("'modelTopology.node' is missing");
  if (!m.contains("weightsManifest") || !m["weightsManifest"].is_array())
    throw bad("'weightsManifest' is missing");

  TfjsGraphModel model;
  model.path = model_json;
  try {
    for (const json& n : m["modelTopology"]["node"]) model.nodes.push_back(read_node(n));
  } catch (const std::exception& e) {
    throw bad(std::string("a node's attributes cannot be read (") + e.what() + ")");
  }
  // float32 weights by name; int32 constants (reduction axes) are read past.
  model.weights = read_tfjs_weight_groups(m["weightsManifest"], model_json, "graph model",
                                          TfjsInt32Weights::kSkip);
  return model;
}

}  // namespace hesp::models

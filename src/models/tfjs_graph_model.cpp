// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/tfjs_graph_model.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "hesp/error.h"

namespace hesp::models {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::uint8_t> read_bytes(const fs::path& path, const char* what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw FileNotFoundError(std::string(what) + " '" + path.string() + "' not found");
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    throw CorruptFileError(std::string("cannot read ") + what + " '" + path.string() + "'");
  return bytes;
}

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
  const fs::path file(model_json);
  const std::vector<std::uint8_t> text = read_bytes(file, "TensorFlow.js graph model");
  auto bad = [&](const std::string& what) {
    return CorruptFileError("TensorFlow.js graph model '" + model_json + "': " + what);
  };
  json m;
  try {
    m = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw bad(std::string("not valid JSON (") + e.what() + ")");
  }
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
  for (const json& group : m["weightsManifest"]) {
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() ||
        !group.contains("weights") || !group["weights"].is_array())
      throw bad("a weight group lacks 'paths' or 'weights'");
    std::vector<std::uint8_t> bytes;
    for (const json& p : group["paths"]) {
      if (!p.is_string()) throw bad("a shard path is not a string");
      const auto part =
          read_bytes(file.parent_path() / p.get<std::string>(), "TensorFlow.js weights shard");
      bytes.insert(bytes.end(), part.begin(), part.end());
    }
    std::uint64_t offset = 0;
    for (const json& spec : group["weights"]) {
      if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string() ||
          !spec.contains("shape") || !spec["shape"].is_array() || !spec.contains("dtype"))
        throw bad("a weight entry lacks 'name', 'shape' or 'dtype'");
      const std::string name = spec["name"].get<std::string>();
      if (spec.contains("quantization"))
        throw bad("weight '" + name + "' is quantised; only float32 graph models are read");
      TfjsTensor t;
      for (const json& d : spec["shape"]) {
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0 ||
            d.get<std::int64_t>() > (std::int64_t{1} << 24))
          throw bad("weight '" + name + "' has an invalid shape " + spec["shape"].dump());
        t.shape.push_back(d.get<std::int64_t>());
      }
      if (t.shape.size() > 6) throw bad("weight '" + name + "' has more than 6 dimensions");
      const std::string dtype = spec["dtype"].is_string() ? spec["dtype"].get<std::string>() : "";
      if (dtype != "float32" && dtype != "int32")
        throw bad("weight '" + name + "' has dtype '" + dtype + "', expected float32 or int32");
      const auto count = static_cast<std::uint64_t>(t.numel());
      if (count > (std::uint64_t{1} << 31) || offset + count * 4 > bytes.size())
        throw bad("its shards hold " + std::to_string(bytes.size()) + " bytes, but weight '" +
                  name + "' needs bytes up to " + std::to_string(offset + count * 4) +
                  " (truncated file?)");
      if (dtype == "float32") {
        t.values.resize(count);
        std::memcpy(t.values.data(), bytes.data() + offset, count * 4);
        if (!model.weights.emplace(name, std::move(t)).second)
          throw bad("weight '" + name + "' is listed twice");
      }
      offset += count * 4;
    }
    if (offset != bytes.size())
      throw bad("its shards hold " + std::to_string(bytes.size()) +
                " bytes, but its weights take " + std::to_string(offset) +
                " (shard and model.json do not belong together)");
  }
  return model;
}

}  // namespace hesp::models

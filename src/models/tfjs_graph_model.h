// SPDX-License-Identifier: LGPL-2.1-or-later
// Reader for TensorFlow.js graph models (model.json with "modelTopology" and "weightsManifest",
// plus .bin shards): the graph's nodes, for checking that it is the network a converter expects,
// and its float weights by name. Torch-free.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "face/tfjs_weights.h"

namespace hesp::models {

struct TfjsGraphNode {
  std::string name;
  std::string op;
  std::vector<std::string> inputs;
  std::vector<std::int64_t> strides;   // attr "strides", empty when absent
  std::string padding;                 // attr "padding" decoded ("SAME", "VALID"), "" when absent
  std::vector<std::string> fused_ops;  // attr "fused_ops" decoded ("BiasAdd", "Relu")
};

struct TfjsGraphModel {
  std::string path;  // the model.json
  std::vector<TfjsGraphNode> nodes;
  // float32 weights (int32 constants such as reduction axes are read past and left out).
  TfjsWeightMap weights;

  // The node whose name is `name`, nullptr when absent.
  const TfjsGraphNode* find(const std::string& name) const;
};

// The weights are read by face/tfjs_weights.h (quantised ones dequantised as TensorFlow.js does).
// Throws FileNotFoundError for a missing model.json or shard, CorruptFileError naming the file
// for one that is not a graph model, shards whose size does not match the manifest, or
// unsupported dtypes.
TfjsGraphModel read_tfjs_graph_model(const std::string& model_json);

}  // namespace hesp::models

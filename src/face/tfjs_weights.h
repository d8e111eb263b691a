// SPDX-License-Identifier: LGPL-2.1-or-later
// Reader for TensorFlow.js "weights manifest" models: a JSON manifest listing weight groups, each a
// byte stream split over one or more .bin shards. face-api.js publishes its trained networks this
// way; the readers of those networks take the tensors from here by name.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hesp {

// One weight in float32, row-major in the TFJS layout its shape gives (conv kernels [kh, kw, in,
// out], depthwise kernels [kh, kw, in, multiplier]).
struct TfjsTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;

  std::int64_t numel() const;
};

using TfjsWeightMap = std::map<std::string, TfjsTensor>;

// Reads every weight the manifest lists; shard paths are relative to the manifest's folder.
// Quantised weights are dequantised as tf.io.decodeWeights does (uint8/uint16: q * scale + min in
// double precision, then rounded to float; float16 widened), float32 ones are copied.
// Throws FileNotFoundError for a missing manifest or shard, CorruptFileError naming the file for a
// manifest that is not a weights manifest, a shard shorter or longer than its weights, an
// unsupported dtype or a weight name listed twice.
TfjsWeightMap read_tfjs_weight_map(const std::string& manifest_path);

// The JSON file at `path` (a weights manifest or a graph model's model.json), parsed. Throws
// FileNotFoundError for a missing file, CorruptFileError naming it as "TensorFlow.js <what>
// '<path>'" for one that cannot be read or is not JSON.
nlohmann::json read_tfjs_json(const std::string& path, const std::string& what);

// What a reader does with int32 weights: face-api.js's manifests hold none; graph models hold int32
// constants (reduction axes, shapes) that the readers of their networks do not need.
enum class TfjsInt32Weights { kRefuse, kSkip };

// The weights of the groups a manifest lists (a JSON array of {"paths", "weights"}), decoded as
// read_tfjs_weight_map does. `file` is the JSON file that lists them: shard paths are relative to
// its folder, and errors name it as "TensorFlow.js <what> '<file>'". With kSkip, int32 weights
// are read past and left out of the map. Throws as read_tfjs_weight_map does.
TfjsWeightMap read_tfjs_weight_groups(const nlohmann::json& groups, const std::string& file,
                                      const std::string& what, TfjsInt32Weights int32);

// The weight called name, checked against the expected shape. Throws CorruptFileError naming
// `source` (the manifest) when the weight is absent or has another shape.
const TfjsTensor& require_tfjs_tensor(const TfjsWeightMap& weights, const std::string& name,
                                      const std::vector<std::int64_t>& shape,
                                      const std::string& source);

}  // namespace hesp

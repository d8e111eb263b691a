// SPDX-License-Identifier: LGPL-2.1-or-later
// Reader for TensorFlow.js "weights manifest" models: a JSON manifest listing weight groups, each a
// byte stream split over one or more .bin shards. face-api.js publishes its trained networks this
// way; the readers of those networks take the tensors from here by name.
#pragma once

#include <cstdint>
#include <map>
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

// The weight called name, checked against the expected shape. Throws CorruptFileError naming
// `source` (the manifest) when the weight is absent or has another shape.
const TfjsTensor& require_tfjs_tensor(const TfjsWeightMap& weights, const std::string& name,
                                      const std::vector<std::int64_t>& shape,
                                      const std::string& source);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/clip_from_pack.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <fstream>

#include "hesp/error.h"
#include "hesp/model_pack.h"

namespace hesp::clip {

bool looks_like_model_pack(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[9] = {};
  if (!in.read(reinterpret_cast<char*>(head), sizeof head)) return false;
  // A zip archive starts with "PK"; a safetensors header length is small and little-endian, so
  // its high bytes are zero, and the JSON header opens with '{'.
  return head[0] != 'P' && head[5] == 0 && head[6] == 0 && head[7] == 0 && head[8] == '{';
}

TensorMap read_pack_clip_tensors(const std::string& path) {
  const ModelPack pack = ModelPack::open(path);
  const std::string prefix = kPackWeightPrefix;
  TensorMap out;
  for (const TensorInfo& t : pack.tensors()) {
    if (t.name.compare(0, prefix.size(), prefix) != 0) continue;
    at::ScalarType type;
    switch (t.dtype) {
      case DType::kF32:
        type = at::kFloat;
        break;
      case DType::kF16:
        type = at::kHalf;
        break;
      case DType::kBF16:
        type = at::kBFloat16;
        break;
      case DType::kF64:
        type = at::kDouble;
        break;
      default:
        throw CorruptFileError("model pack '" + path + "': CLIP tensor '" + t.name + "' holds " +
                               dtype_name(t.dtype) + ", expected floating point values");
    }
    // The mapping may be unaligned and goes away with the pack: copy.
    at::Tensor tensor = at::empty(t.shape, at::TensorOptions().dtype(type));
    if (t.nbytes) std::memcpy(tensor.data_ptr(), t.data, t.nbytes);
    out[t.name.substr(prefix.size())] = std::move(tensor);
  }
  if (out.empty())
    throw CorruptFileError("model pack '" + path + "' (kind " + pack.kind() +
                           ") holds no CLIP weights ('" + prefix + "*' tensors)");
  return out;
}

}  // namespace hesp::clip

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/clip_from_pack.h"

#include <ATen/ATen.h>

#include <fstream>
#include <optional>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "torch_util/pack_tensor.h"

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
    const std::optional<at::ScalarType> type = torch_util::float_scalar_type(t.dtype);
    if (!type)
      throw CorruptFileError("model pack '" + path + "': CLIP tensor '" + t.name + "' holds " +
                             dtype_name(t.dtype) + ", expected floating point values");
    out[t.name.substr(prefix.size())] = torch_util::copy_pack_tensor(t, *type);
  }
  if (out.empty())
    throw CorruptFileError("model pack '" + path + "' (kind " + pack.kind() +
                           ") holds no CLIP weights ('" + prefix + "*' tensors)");
  return out;
}

}  // namespace hesp::clip

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "torch_util/pack_tensor.h"

#include <ATen/ATen.h>

#include <cstring>

namespace hesp::torch_util {

std::optional<at::ScalarType> float_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return at::kFloat;
    case DType::kF16:
      return at::kHalf;
    case DType::kBF16:
      return at::kBFloat16;
    case DType::kF64:
      return at::kDouble;
    default:
      return std::nullopt;
  }
}

at::Tensor copy_pack_tensor(const TensorInfo& t, at::ScalarType type) {
  at::Tensor out = at::empty(t.shape, at::TensorOptions().dtype(type));
  if (t.nbytes) std::memcpy(out.data_ptr(), t.data, t.nbytes);
  return out;
}

}  // namespace hesp::torch_util

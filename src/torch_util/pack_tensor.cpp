// SPDX-License-Identifier: LGPL-2.1-or-later
#include "torch_util/pack_tensor.h"

#include <ATen/ATen.h>

#include <cstring>
#include <utility>

namespace hesp::torch_util {

namespace {

constexpr std::pair<DType, at::ScalarType> kFloatTypes[] = {
    {DType::kF32, at::kFloat},
    {DType::kF16, at::kHalf},
    {DType::kBF16, at::kBFloat16},
    {DType::kF64, at::kDouble},
};

}  // namespace

std::optional<at::ScalarType> float_scalar_type(DType dtype) {
  for (const auto& [pack_type, torch_type] : kFloatTypes)
    if (pack_type == dtype) return torch_type;
  return std::nullopt;
}

at::Tensor copy_pack_tensor(const TensorInfo& t, at::ScalarType type) {
  at::Tensor out = at::empty(t.shape, at::TensorOptions().dtype(type));
  if (t.nbytes) std::memcpy(out.data_ptr(), t.data, t.nbytes);
  return out;
}

}  // namespace hesp::torch_util

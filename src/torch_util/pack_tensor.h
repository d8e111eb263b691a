// SPDX-License-Identifier: LGPL-2.1-or-later
// Model-pack tensors (hesp/model_pack.h) as LibTorch tensors: the one place a pack's float dtype
// becomes a scalar type and its mapped bytes are copied out.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

#include "hesp/model_pack.h"

namespace hesp::torch_util {

// The scalar type of a floating-point pack dtype (F64, F32, F16, BF16); nullopt for the others.
std::optional<at::ScalarType> float_scalar_type(DType dtype);

// A fresh CPU tensor of `type` and the pack tensor's shape holding a copy of its bytes: the
// mapping may be unaligned for the element type and goes away with the pack. `type` must have
// the element size of t.dtype.
at::Tensor copy_pack_tensor(const TensorInfo& t, at::ScalarType type);

}  // namespace hesp::torch_util

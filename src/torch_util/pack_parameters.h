// SPDX-License-Identifier: LGPL-2.1-or-later
// Filling a module's parameters from a model pack whose tensors are named as the parameters are.
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "hesp/model_pack.h"

namespace hesp::torch_util {

// Copies each parameter of `module` (named_parameters, recursively) from the pack tensor of that
// name, converted to float32. Throws CorruptFileError naming `source` (e.g. "model pack 'x'")
// for a missing tensor, a tensor of another shape, one that is not F32, F16 or BF16, and a pack
// tensor that no parameter takes ("no place in the <architecture> architecture").
void load_pack_parameters(torch::nn::Module& module, const ModelPack& pack,
                          const std::string& source, const std::string& architecture);

}  // namespace hesp::torch_util

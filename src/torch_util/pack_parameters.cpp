// SPDX-License-Identifier: LGPL-2.1-or-later
#include "torch_util/pack_parameters.h"

#include <torch/torch.h>

#include <optional>
#include <set>
#include <vector>

#include "hesp/error.h"
#include "torch_util/pack_tensor.h"
#include "util/shape_text.h"

namespace hesp::torch_util {

void load_pack_parameters(torch::nn::Module& module, const ModelPack& pack,
                          const std::string& source, const std::string& architecture) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    torch::Tensor& param = item.value();
    const TensorInfo* t = pack.find(name);
    if (!t) throw CorruptFileError(source + ": tensor '" + name + "' is missing");
    const std::vector<std::int64_t> want(param.sizes().begin(), param.sizes().end());
    if (want != t->shape)
      throw CorruptFileError(source + ": tensor '" + name + "' has shape " +
                             util::shape_text(t->shape) + ", the architecture needs " +
                             util::shape_text(want));
    // Unlike CLIP weights (clip_from_pack.cpp), these weights may not be F64.
    const std::optional<at::ScalarType> type = float_scalar_type(t->dtype);
    if (!type || *type == at::kDouble)
      throw CorruptFileError(source + ": tensor '" + name + "' is " + dtype_name(t->dtype) +
                             ", expected a floating-point type (F32, F16, BF16)");
    param.copy_(copy_pack_tensor(*t, *type).to(torch::kFloat32));
    used.insert(name);
  }
  for (const auto& t : pack.tensors())
    if (!used.count(t.name))
      throw CorruptFileError(source + ": tensor '" + t.name + "' has no place in the " +
                             architecture + " architecture (wrong pack kind?)");
}

}  // namespace hesp::torch_util

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "torch_util/torch_device.h"

#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include "hesp/error.h"
#include "hesp_config.h"

namespace hesp::torch_util {

c10::Device torch_device(const std::string& spec) {
  const bool wants_cuda = spec == "cuda" || spec.rfind("cuda:", 0) == 0;
  if (spec != "cpu" && !wants_cuda)
    throw SettingsError("unknown device '" + spec + "' (expected cpu, cuda or cuda:N)");
  if (!wants_cuda) return c10::Device(c10::kCPU);
  if (!torch::cuda::is_available())
    throw SettingsError(std::string("CUDA is not available: ") +
                        (HESP_WITH_CUDA ? "no GPU is visible to LibTorch"
                                        : "hesp was built against a CPU-only LibTorch (rebuild "
                                          "with -Dtorch_dir pointing at a CUDA build)") +
                        "; use device 'cpu'");
  try {
    c10::Device device(spec);
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count()))
      throw SettingsError("device '" + spec + "' does not exist (" +
                          std::to_string(torch::cuda::device_count()) + " CUDA devices)");
    return device;
  } catch (const c10::Error&) {
    throw SettingsError("unknown device '" + spec + "' (expected cpu, cuda or cuda:N)");
  }
}

}  // namespace hesp::torch_util

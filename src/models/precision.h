// SPDX-License-Identifier: LGPL-2.1-or-later
// Which kernel a CLIP-based pack runs its towers' matrix products with (ModelOptions::precision),
// and the precision a pack records as the one its unknown threshold was calibrated with
// (manifest "open_set.precision"). docs/models.md describes the rules; this is the one place
// that applies them, for the models and the trainers alike. Torch-free.
#pragma once

#include <string>
#include <vector>

namespace hesp {
class ModelPack;
}

namespace hesp::models {

// The values ModelOptions::precision takes: "auto", "fp32", "bf16".
const std::vector<std::string>& precision_settings();
// The values a manifest's "open_set.precision" takes: "fp32", "bf16".
const std::vector<std::string>& recorded_precisions();

// The name ExpressionModel::precision() gives the plain at::linear fp32 kernel on the CPU: the one
// packs written before packs recorded a precision were calibrated with.
inline constexpr const char* kReferencePrecision = "fp32-reference";

// Throws SettingsError naming the value and listing the valid ones.
void check_precision_setting(const std::string& setting);

// What decides which kernels can run.
struct KernelHost {
  bool cpu = true;     // the model runs on the CPU (the kernels below are CPU kernels)
  bool onednn = true;  // LibTorch was built with oneDNN
  bool bf16 = false;   // the CPU has the AVX-512 BF16 instructions
};

// This machine, for a model on `device` ("cpu", "cuda", "cuda:N").
KernelHost kernel_host(const std::string& device);

// The kernel a CLIP tower runs with. On CUDA every fp32 choice is plain at::linear, named "fp32".
struct TowerKernel {
  std::string precision;  // "fp32", "bf16" or kReferencePrecision
  bool onednn = false;    // oneDNN fp32 (or bf16) products
  bool bf16 = false;      // bf16 products with fp32 accumulation
};

// The kernel for a setting of ModelOptions::precision:
//   "fp32"  oneDNN fp32 on the CPU (plain at::linear where LibTorch has no oneDNN, and on CUDA)
//   "bf16"  oneDNN bf16; SettingsError naming the requirement when the host cannot run it
//   "auto"  the recorded precision when the host can run it, else fp32; for a pack that records
//           none, `unrecorded` ("fp32" or kReferencePrecision: what such packs of the kind ran)
// `recorded` is the pack's open_set.precision, empty when absent. SettingsError for another
// setting.
TowerKernel choose_kernel(const std::string& setting, const std::string& recorded,
                          const std::string& unrecorded, const KernelHost& host);

// The kernel a trainer calibrates with, and so the precision its pack records: "auto" and "fp32"
// are fp32, "bf16" is bf16 (SettingsError when the host cannot run it).
TowerKernel calibration_kernel(const std::string& setting, const KernelHost& host);

// The precision a kernel choice is recorded as ("fp32" or "bf16").
std::string recorded_name(const TowerKernel& kernel);

// The pack's "open_set.precision", empty when it records none (ModelPack::open has checked the
// value).
std::string recorded_precision(const ModelPack& pack);

}  // namespace hesp::models

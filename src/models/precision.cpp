// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/precision.h"

#include <ATen/Context.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "util/cpu_features.h"

namespace hesp::models {

namespace {

std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

TowerKernel fp32_kernel(const KernelHost& host) {
  TowerKernel k;
  k.onednn = host.cpu && host.onednn;
  k.precision = host.cpu && !k.onednn ? kReferencePrecision : "fp32";
  return k;
}

TowerKernel reference_kernel(const KernelHost& host) {
  TowerKernel k;
  k.precision = host.cpu ? kReferencePrecision : "fp32";
  return k;
}

bool runs_bf16(const KernelHost& host) { return host.cpu && host.onednn && host.bf16; }

TowerKernel bf16_kernel(const KernelHost& host) {
  if (!host.cpu)
    throw SettingsError("precision bf16 runs on the CPU only; use fp32 or auto on a GPU");
  if (!host.bf16)
    throw SettingsError(
        "precision bf16 needs a CPU with the AVX-512 BF16 instructions (avx512_bf16), which "
        "this CPU does not have; use fp32 or auto");
  if (!host.onednn)
    throw SettingsError("precision bf16 needs LibTorch built with oneDNN; use fp32 or auto");
  TowerKernel k;
  k.precision = "bf16";
  k.onednn = true;
  k.bf16 = true;
  return k;
}

}  // namespace

const std::vector<std::string>& precision_settings() {
  static const std::vector<std::string> names = {"auto", "fp32", "bf16"};
  return names;
}

const std::vector<std::string>& recorded_precisions() {
  static const std::vector<std::string> names = {"fp32", "bf16"};
  return names;
}

void check_precision_setting(const std::string& setting) {
  const auto& names = precision_settings();
  if (std::find(names.begin(), names.end(), setting) == names.end())
    throw SettingsError("unknown precision '" + setting + "' (expected " + listed(names) + ")");
}

KernelHost kernel_host(const std::string& device) {
  KernelHost host;
  host.cpu = device.rfind("cuda", 0) != 0;
  host.onednn = at::hasMKLDNN();
  host.bf16 = util::cpu_has_avx512_bf16();
  return host;
}

TowerKernel choose_kernel(const std::string& setting, const std::string& recorded,
                          const std::string& unrecorded, const KernelHost& host) {
  check_precision_setting(setting);
  if (setting == "fp32") return fp32_kernel(host);
  if (setting == "bf16") return bf16_kernel(host);
  if (recorded.empty())
    return unrecorded == kReferencePrecision ? reference_kernel(host) : fp32_kernel(host);
  if (recorded == "bf16" && runs_bf16(host)) return bf16_kernel(host);
  return fp32_kernel(host);
}

TowerKernel calibration_kernel(const std::string& setting, const KernelHost& host) {
  check_precision_setting(setting);
  return setting == "bf16" ? bf16_kernel(host) : fp32_kernel(host);
}

std::string recorded_name(const TowerKernel& kernel) { return kernel.bf16 ? "bf16" : "fp32"; }

std::string recorded_precision(const ModelPack& pack) {
  const nlohmann::json& os = pack.manifest().at("open_set");
  const auto it = os.find("precision");
  return it == os.end() ? std::string() : it->get<std::string>();
}

}  // namespace hesp::models

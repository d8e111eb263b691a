// SPDX-License-Identifier: LGPL-2.1-or-later
// The manifest check on arbitrary JSON. Inside a pack the manifest is a string within the
// safetensors header, too deep for the model_pack harness to reach often; here the fuzzer writes
// it directly. manifest_problem must answer (not throw) for any document, and a manifest it
// accepts must make a pack that opens with the same manifest.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.h"
#include "hesp/error.h"
#include "hesp/model_pack.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json manifest = nlohmann::json::parse(data, data + size, nullptr, false);
  if (manifest.is_discarded()) return 0;
  if (!hesp::manifest_problem(manifest).empty()) return 0;

  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hesp-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) hesp::fuzz::property_failed("mkdtemp");
    return pattern;
  }();
  const std::string path = dir + "/manifest.safetensors";
  hesp::write_pack(path, manifest, {});
  {
    const hesp::ModelPack pack = hesp::ModelPack::open(path);
    HESP_FUZZ_CHECK(pack.manifest() == manifest);
    HESP_FUZZ_CHECK(pack.kind() == manifest["kind"].get<std::string>());
    HESP_FUZZ_CHECK(pack.name() == manifest["name"].get<std::string>());
    HESP_FUZZ_CHECK(pack.tensors().empty());
  }
  ::unlink(path.c_str());
  return 0;
}

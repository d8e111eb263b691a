// SPDX-License-Identifier: LGPL-2.1-or-later
// ModelPack::open on arbitrary bytes. A pack it accepts must hold what the file says: tensor views
// inside the file with the bytes at their offsets, a valid manifest, and it must survive a
// write_pack / open round trip unchanged. Everything it refuses must be a hesp::Error.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.h"
#include "hesp/error.h"
#include "hesp/model_pack.h"

namespace {

std::string scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hesp-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) hesp::fuzz::property_failed("mkdtemp for the round trip");
    return pattern;
  }();
  return dir;
}

void check_accepted(const hesp::ModelPack& pack, const std::uint8_t* data, std::size_t size) {
  HESP_FUZZ_CHECK(pack.file_size() == size);
  HESP_FUZZ_CHECK(hesp::manifest_problem(pack.manifest()).empty());
  HESP_FUZZ_CHECK(!pack.kind().empty() && !pack.name().empty());
  HESP_FUZZ_CHECK(pack.metadata().count(hesp::kManifestKey) == 1);

  // The tensors tile the data section in file order, so the i-th one starts where the previous
  // ones end; its view must hold exactly those bytes of the input.
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
  std::uint64_t offset = 8 + header_len;
  for (const auto& t : pack.tensors()) {
    HESP_FUZZ_CHECK(!t.name.empty());
    HESP_FUZZ_CHECK(pack.find(t.name) == &t);
    HESP_FUZZ_CHECK(t.nbytes == 0 || t.data != nullptr);
    HESP_FUZZ_CHECK(static_cast<std::uint64_t>(t.numel()) * hesp::dtype_size(t.dtype) == t.nbytes);
    HESP_FUZZ_CHECK(offset + t.nbytes <= size);
    HESP_FUZZ_CHECK(t.nbytes == 0 || std::memcmp(t.data, data + offset, t.nbytes) == 0);
    offset += t.nbytes;
  }
  HESP_FUZZ_CHECK(offset == size);
  try {
    pack.tensor(std::string());
    hesp::fuzz::property_failed("tensor(\"\") found a tensor with an empty name");
  } catch (const hesp::CorruptFileError&) {
  }

  // What was read can be written and read back unchanged.
  std::map<std::string, std::string> extra = pack.metadata();
  extra.erase(hesp::kManifestKey);
  const std::string copy = scratch_dir() + "/round-trip.safetensors";
  hesp::write_pack(copy, pack.manifest(), pack.tensors(), extra);
  {
    const hesp::ModelPack again = hesp::ModelPack::open(copy);
    HESP_FUZZ_CHECK(again.manifest() == pack.manifest());
    // The manifest text itself is written in nlohmann's layout, so only its parse must match.
    std::map<std::string, std::string> extra_again = again.metadata();
    extra_again.erase(hesp::kManifestKey);
    HESP_FUZZ_CHECK(extra_again == extra);
    HESP_FUZZ_CHECK(again.tensors().size() == pack.tensors().size());
    for (const auto& t : pack.tensors()) {
      const hesp::TensorInfo* u = again.find(t.name);
      HESP_FUZZ_CHECK(u && u->dtype == t.dtype && u->shape == t.shape && u->nbytes == t.nbytes);
      HESP_FUZZ_CHECK(t.nbytes == 0 || std::memcmp(u->data, t.data, t.nbytes) == 0);
    }
  }
  ::unlink(copy.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static hesp::fuzz::InputFile input;
  const std::string& path = input.write(data, size);
  try {
    const hesp::ModelPack pack = hesp::ModelPack::open(path);
    check_accepted(pack, data, size);
  } catch (const hesp::CorruptFileError&) {
    // The expected way to refuse a file; anything else (another exception type) escapes and
    // libFuzzer reports it as a crash.
  }
  return 0;
}

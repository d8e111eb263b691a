// SPDX-License-Identifier: LGPL-2.1-or-later
// Model packs: one .safetensors file per model, holding the tensors and, in the safetensors
// "__metadata__" map, a JSON manifest that says what the model is and how to run it. The format is
// the standard one (8-byte little-endian header length, JSON header, raw little-endian tensor
// data), so Python's `safetensors` package reads a pack as is; the manifest is a JSON document
// stored as the string value of the metadata key kManifestKey, because safetensors metadata values
// must be strings. docs/models.md lists the manifest fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace hesp {

// The manifest layout this build writes; packs with a higher version are refused.
inline constexpr int kModelPackFormatVersion = 1;
// The safetensors metadata key that holds the manifest JSON text.
inline constexpr const char* kManifestKey = "hesp_manifest";
// Bounds on manifest values, checked when a pack is opened so that a damaged or hostile manifest
// is refused by name instead of failing later (e.g. an input size whose frames cannot be
// allocated). The largest released CLIP takes 448 px.
inline constexpr int kMaxPackInputSize = 1024;
inline constexpr int kMaxPackFramesPerClip = 256;

// The manifest fields every pack kind shares, read once when the pack is opened (after
// manifest_problem found nothing wrong with them). docs/models.md describes them.
struct PackHeader {
  std::string kind;
  std::string name;
  std::vector<std::string> classes;
  int input_size = 0;              // input.size, 1..kMaxPackInputSize pixels
  int frames_per_clip = 1;         // 1..kMaxPackFramesPerClip
  double face_margin = 0.0;        // input.face_margin, 0..2 (0 when absent)
  std::string score_rule;          // open_set.score, one of open_set_score_rules()
  double unknown_threshold = 0.0;  // open_set.unknown_threshold, finite
};

// Element types, spelled in files as safetensors does ("F32", "BF16", ...).
enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

const char* dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);
// False when the name is not one of the spellings above.
bool parse_dtype(const std::string& name, DType* dtype);

// One tensor of a pack. When read from a pack, `data` points into the mapped file and stays valid
// as long as the ModelPack lives; it may be unaligned (safetensors does not promise alignment), so
// copy with memcpy rather than casting. When writing, `data` points at the caller's bytes.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  std::size_t nbytes = 0;

  std::int64_t numel() const;
};

// A pack opened for reading: the file is memory-mapped, the header and manifest are validated, the
// tensors are views into the mapping. Move-only.
class ModelPack {
 public:
  // Throws FileNotFoundError when the file does not exist and CorruptFileError (naming the file and
  // the problem) when it is not a valid pack: short file, bad header length, header that is not
  // JSON, unknown dtype, shape and byte count that disagree, offsets out of range or overlapping,
  // missing manifest or manifest fields.
  static ModelPack open(const std::string& path);

  ModelPack(ModelPack&&) noexcept;
  ModelPack& operator=(ModelPack&&) noexcept;
  ~ModelPack();

  const std::string& path() const;
  // The parsed manifest (include <nlohmann/json.hpp> to use it).
  const nlohmann::json& manifest() const;
  // Every "__metadata__" entry, the manifest text included.
  const std::map<std::string, std::string>& metadata() const;
  // In the order of their data in the file.
  const std::vector<TensorInfo>& tensors() const;
  // nullptr when there is no such tensor.
  const TensorInfo* find(const std::string& name) const;
  // Throws CorruptFileError naming the pack and the tensor when it is missing.
  const TensorInfo& tensor(const std::string& name) const;
  // The common manifest fields.
  const PackHeader& header() const;
  // Convenience accessors for the required manifest fields.
  std::string kind() const;
  std::string name() const;
  std::size_t file_size() const;

 private:
  struct Impl;
  explicit ModelPack(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Checks that a manifest has the fields every pack needs (see docs/models.md): format_version,
// kind, name, classes, input.size, frames_per_clip, open_set.score and open_set.unknown_threshold,
// provenance, and that their values are usable (types, bounds, a known score rule; the optional
// input.face_margin in 0..2). Returns an empty string when they are, else what is wrong: "... is
// missing" for an absent field, the value and what it must be for a present but invalid one.
std::string manifest_problem(const nlohmann::json& manifest);

// Writes a pack. The manifest is checked first (SettingsError when a field is missing), tensor
// names must be unique and non-empty and each nbytes must match dtype and shape (SettingsError).
// Extra metadata entries are stored next to the manifest. The file is written under a temporary
// name and renamed, so readers never see half a pack; Error when the file cannot be written.
void write_pack(const std::string& path, const nlohmann::json& manifest,
                const std::vector<TensorInfo>& tensors,
                const std::map<std::string, std::string>& extra_metadata = {});

}  // namespace hesp

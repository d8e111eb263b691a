// SPDX-License-Identifier: LGPL-2.1-or-later
// Model pack reading and writing (safetensors layout). No torch here: the loaders in this folder
// turn TensorInfo views into tensors themselves.
#include "hesp/model_pack.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "hesp/error.h"
#include "hesp/expression_model.h"

namespace hesp {

namespace {

// A header this large is not a model pack: even CLIP ViT-L has a few hundred tensors, a few kB of
// header. The bound keeps a corrupt length from making us parse gigabytes.
constexpr std::uint64_t kMaxHeaderBytes = 64ull << 20;

struct DTypeEntry {
  DType dtype;
  const char* name;
  std::size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::kF64, "F64", 8},   {DType::kF32, "F32", 4}, {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},   {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},
};

const DTypeEntry& entry(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e;
  return kDTypes[1];  // unreachable for valid enum values
}

bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  std::uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// numel * element size, or false on negative dimensions or overflow. Every partial product must
// fit in int64 too, since TensorInfo::numel() multiplies the dimensions in order: a shape like
// [2^32, 2^31, 0] holds no bytes but would overflow there.
bool byte_count(const std::vector<std::int64_t>& shape, std::size_t elem, std::uint64_t* out) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return false;
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d) return false;
    n *= d;
  }
  const auto count = static_cast<std::uint64_t>(n);
  if (count != 0 && elem > std::numeric_limits<std::uint64_t>::max() / count) return false;
  *out = count * elem;
  return true;
}

// JSON nesting deeper than any real header or manifest has. Parsing is iterative, but printing
// and comparing JSON recurse once per level, so a hostile file nested 100k levels deep would
// overflow the stack later (e.g. in `hesp info`); it is refused here instead.
constexpr int kMaxJsonDepth = 64;

// Parses JSON text; throws CorruptFileError naming the file for invalid or too deeply nested text.
nlohmann::json parse_json(const char* begin, const char* end, const std::string& path,
                          const char* what) {
  bool too_deep = false;
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(begin, end,
                                  [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
                                    if (depth > kMaxJsonDepth) too_deep = true;
                                    return !too_deep;
                                  });
  } catch (const nlohmann::json::exception& e) {
    throw CorruptFileError("model pack '" + path + "': " + what + " is not valid JSON (" +
                           e.what() + ")");
  }
  if (too_deep)
    throw CorruptFileError("model pack '" + path + "': " + what + " is nested more than " +
                           std::to_string(kMaxJsonDepth) + " levels deep");
  return value;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw CorruptFileError("model pack '" + path + "': " + what);
}

bool is_nonempty_string(const nlohmann::json& j) {
  return j.is_string() && !j.get_ref<const std::string&>().empty();
}

}  // namespace

const char* dtype_name(DType dtype) { return entry(dtype).name; }
std::size_t dtype_size(DType dtype) { return entry(dtype).size; }

bool parse_dtype(const std::string& name, DType* dtype) {
  for (const auto& e : kDTypes) {
    if (name == e.name) {
      *dtype = e.dtype;
      return true;
    }
  }
  return false;
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

namespace {

// A manifest value as it appears in the file, shortened for a one-line message.
std::string shown(const nlohmann::json& v) {
  std::string text = v.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string invalid(const std::string& field, const nlohmann::json& v, const std::string& want) {
  return "manifest '" + field + "' is " + shown(v) + "; it must be " + want;
}

// Empty when v is an integer in [lo, hi], else what is wrong with it.
std::string integer_problem(const std::string& field, const nlohmann::json& v, std::int64_t lo,
                            std::int64_t hi, const std::string& unit) {
  if (v.is_number_integer() && v.get<std::int64_t>() >= lo && v.get<std::int64_t>() <= hi)
    return {};
  return invalid(field, v,
                 "an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + unit);
}

}  // namespace

std::string manifest_problem(const nlohmann::json& m) {
  if (!m.is_object()) return "the manifest is not a JSON object";
  if (!m.contains("format_version")) return "manifest field 'format_version' (integer) is missing";
  if (!m["format_version"].is_number_integer())
    return invalid("format_version", m["format_version"], "an integer");
  const auto version = m["format_version"].get<std::int64_t>();
  if (version < 1) return "manifest 'format_version' must be at least 1";
  if (version > kModelPackFormatVersion)
    return "manifest format_version " + std::to_string(version) +
           " is newer than this build of hesp reads (" + std::to_string(kModelPackFormatVersion) +
           ")";
  for (const char* key : {"kind", "name"}) {
    if (!m.contains(key))
      return std::string("manifest field '") + key + "' (non-empty string) is missing";
    if (!is_nonempty_string(m[key])) return invalid(key, m[key], "a non-empty string");
  }
  if (!m.contains("classes"))
    return "manifest field 'classes' (non-empty array of class names) is missing";
  if (!m["classes"].is_array() || m["classes"].empty())
    return invalid("classes", m["classes"], "a non-empty array of class names");
  std::set<std::string> seen;
  for (const auto& c : m["classes"]) {
    if (!is_nonempty_string(c)) return "manifest 'classes' holds something that is not a name";
    if (!seen.insert(c.get<std::string>()).second)
      return "manifest 'classes' names '" + c.get<std::string>() + "' twice";
  }
  if (!m.contains("architecture")) return "manifest field 'architecture' (object) is missing";
  if (!m["architecture"].is_object())
    return invalid("architecture", m["architecture"], "an object");
  if (!m.contains("input")) return "manifest field 'input' (object) is missing";
  const auto& input = m["input"];
  if (!input.is_object()) return invalid("input", input, "an object");
  if (!input.contains("size")) return "manifest field 'input.size' (positive integer) is missing";
  std::string problem =
      integer_problem("input.size", input["size"], 1, kMaxPackInputSize, " (pixels)");
  if (!problem.empty()) return problem;
  if (input.contains("face_margin")) {
    const auto& fm = input["face_margin"];
    if (!fm.is_number() || !(fm.get<double>() >= 0.0 && fm.get<double>() <= 2.0))
      return invalid("input.face_margin", fm, "a number in 0..2 (fraction of the face box)");
  }
  // Optional: how the pack's face crops are placed (hesp/face_alignment.h); "none" when absent.
  if (input.contains("alignment") &&
      !(input["alignment"] == "none" || input["alignment"] == "landmarks" ||
        input["alignment"] == "eyes"))
    return invalid("input.alignment", input["alignment"], "\"none\", \"landmarks\" or \"eyes\"");
  if (!m.contains("frames_per_clip"))
    return "manifest field 'frames_per_clip' (integer >= 1) is missing";
  problem = integer_problem("frames_per_clip", m["frames_per_clip"], 1, kMaxPackFramesPerClip, "");
  if (!problem.empty()) return problem;
  if (!m.contains("open_set")) return "manifest field 'open_set' (object) is missing";
  const auto& os = m["open_set"];
  if (!os.is_object()) return invalid("open_set", os, "an object");
  if (!os.contains("score"))
    return "manifest field 'open_set.score' (name of the score rule) is missing";
  const auto& rules = open_set_score_rules();
  if (!os["score"].is_string() ||
      std::find(rules.begin(), rules.end(), os["score"].get<std::string>()) == rules.end())
    return "manifest 'open_set.score' is " + shown(os["score"]) +
           "; it must name an open-set score rule (max_logit, max_softmax or energy)";
  if (!os.contains("unknown_threshold"))
    return "manifest field 'open_set.unknown_threshold' (finite number) is missing";
  if (!os["unknown_threshold"].is_number() || !std::isfinite(os["unknown_threshold"].get<double>()))
    return invalid("open_set.unknown_threshold", os["unknown_threshold"], "a finite number");
  // Optional: the kernel precision the threshold was calibrated with (CLIP-based kinds).
  if (os.contains("precision") &&
      !(os["precision"].is_string() && (os["precision"] == "fp32" || os["precision"] == "bf16")))
    return invalid("open_set.precision", os["precision"], "\"fp32\" or \"bf16\"");
  if (!m.contains("provenance")) return "manifest field 'provenance' (object) is missing";
  if (!m["provenance"].is_object()) return invalid("provenance", m["provenance"], "an object");
  return {};
}

namespace {

// Reads the fields manifest_problem has checked.
PackHeader read_header(const nlohmann::json& m) {
  PackHeader h;
  h.kind = m["kind"].get<std::string>();
  h.name = m["name"].get<std::string>();
  for (const auto& c : m["classes"]) h.classes.push_back(c.get<std::string>());
  h.input_size = m["input"]["size"].get<int>();
  h.frames_per_clip = m["frames_per_clip"].get<int>();
  h.face_margin = m["input"].value("face_margin", 0.0);
  h.score_rule = m["open_set"]["score"].get<std::string>();
  h.unknown_threshold = m["open_set"]["unknown_threshold"].get<double>();
  return h;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reading

struct ModelPack::Impl {
  std::string path;
  void* map = nullptr;
  std::size_t size = 0;
  nlohmann::json manifest;
  PackHeader header;
  std::map<std::string, std::string> metadata;
  std::vector<TensorInfo> tensors;

  ~Impl() {
    if (map && map != MAP_FAILED) ::munmap(map, size);
  }
};

ModelPack::ModelPack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelPack::ModelPack(ModelPack&&) noexcept = default;
ModelPack& ModelPack::operator=(ModelPack&&) noexcept = default;
ModelPack::~ModelPack() = default;

const std::string& ModelPack::path() const { return impl_->path; }
const nlohmann::json& ModelPack::manifest() const { return impl_->manifest; }
const std::map<std::string, std::string>& ModelPack::metadata() const { return impl_->metadata; }
const std::vector<TensorInfo>& ModelPack::tensors() const { return impl_->tensors; }
std::size_t ModelPack::file_size() const { return impl_->size; }
const PackHeader& ModelPack::header() const { return impl_->header; }
std::string ModelPack::kind() const { return impl_->header.kind; }
std::string ModelPack::name() const { return impl_->header.name; }

const TensorInfo* ModelPack::find(const std::string& name) const {
  for (const auto& t : impl_->tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorInfo& ModelPack::tensor(const std::string& name) const {
  if (const TensorInfo* t = find(name)) return *t;
  corrupt(impl_->path, "tensor '" + name + "' is missing");
}

ModelPack ModelPack::open(const std::string& path) {
  if (!host_is_little_endian())
    throw Error("model packs are little-endian and this host is not; reading them is unsupported");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      throw FileNotFoundError("model pack '" + path + "' does not exist");
    corrupt(path, std::string("cannot be read: ") + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) corrupt(path, "is a folder, not a .safetensors file");

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) corrupt(path, std::string("cannot be opened: ") + std::strerror(errno));
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    corrupt(path, std::string("cannot be read: ") + std::strerror(err));
  }
  impl->size = static_cast<std::size_t>(st.st_size);
  if (impl->size < 8) {
    ::close(fd);
    corrupt(path, "is " + std::to_string(impl->size) +
                      " bytes long, too short for a safetensors file (8-byte header length first)");
  }
  impl->map = ::mmap(nullptr, impl->size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (impl->map == MAP_FAILED) {
    impl->map = nullptr;
    corrupt(path, std::string("cannot be mapped: ") + std::strerror(map_err));
  }
  const auto* bytes = static_cast<const std::uint8_t*>(impl->map);

  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  const std::uint64_t available = impl->size - 8;
  if (header_len > available)
    corrupt(path, "header length " + std::to_string(header_len) +
                      " runs past the end of the file (" + std::to_string(impl->size) +
                      " bytes); the file is truncated or not a pack");
  if (header_len > kMaxHeaderBytes)
    corrupt(path, "header length " + std::to_string(header_len) + " is implausibly large");
  if (header_len < 2) corrupt(path, "header is empty");

  const char* header_text = reinterpret_cast<const char*>(bytes) + 8;
  const nlohmann::json header = parse_json(header_text, header_text + header_len, path, "header");
  if (!header.is_object()) corrupt(path, "header is not a JSON object");

  const std::uint64_t data_size = available - header_len;
  const std::uint8_t* data = bytes + 8 + header_len;
  struct Span {
    std::uint64_t begin, end;
    std::size_t index;
  };
  std::vector<Span> spans;

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) corrupt(path, "'__metadata__' is not a JSON object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          corrupt(path,
                  "metadata entry '" + mk + "' is not a string (safetensors requires strings)");
        impl->metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + key + "'";
    if (key.empty()) corrupt(path, "a tensor has an empty name");
    if (!value.is_object()) corrupt(path, where + ": entry is not a JSON object");
    TensorInfo info;
    info.name = key;
    if (!value.contains("dtype") || !value["dtype"].is_string())
      corrupt(path, where + ": 'dtype' is missing");
    if (!parse_dtype(value["dtype"].get<std::string>(), &info.dtype))
      corrupt(path, where + ": unknown dtype '" + value["dtype"].get<std::string>() +
                        "' (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
    if (!value.contains("shape") || !value["shape"].is_array())
      corrupt(path, where + ": 'shape' is missing");
    for (const auto& d : value["shape"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
        corrupt(path, where + ": shape holds something that is not a non-negative integer");
      info.shape.push_back(d.get<std::int64_t>());
    }
    const auto& off = value.contains("data_offsets") ? value["data_offsets"] : nlohmann::json();
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
      corrupt(path, where + ": 'data_offsets' must be two non-negative integers");
    const auto begin = off[0].get<std::uint64_t>();
    const auto end = off[1].get<std::uint64_t>();
    if (begin > end)
      corrupt(path, where + ": data offsets [" + std::to_string(begin) + ", " +
                        std::to_string(end) + ") are reversed");
    if (end > data_size)
      corrupt(path, where + ": data offsets [" + std::to_string(begin) + ", " +
                        std::to_string(end) + ") run past the data section (" +
                        std::to_string(data_size) + " bytes); the file is truncated");
    std::uint64_t expected = 0;
    if (!byte_count(info.shape, dtype_size(info.dtype), &expected))
      corrupt(path, where + ": shape " + shape_text(info.shape) + " is too large");
    if (expected != end - begin)
      corrupt(path, where + ": shape " + shape_text(info.shape) + " of " + dtype_name(info.dtype) +
                        " needs " + std::to_string(expected) + " bytes but its data offsets span " +
                        std::to_string(end - begin));
    info.data = data + begin;
    info.nbytes = static_cast<std::size_t>(end - begin);
    spans.push_back({begin, end, impl->tensors.size()});
    impl->tensors.push_back(std::move(info));
  }

  // Like the reference safetensors reader, the tensors must tile the data section exactly: no
  // overlap (two tensors aliasing bytes is a corrupt or hostile file) and no unexplained bytes.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t cursor = 0;
  const Span* prev = nullptr;
  for (const Span& s : spans) {
    if (s.begin < cursor && prev)
      corrupt(path, "tensors '" + impl->tensors[prev->index].name + "' (bytes " +
                        std::to_string(prev->begin) + ".." + std::to_string(prev->end) + ") and '" +
                        impl->tensors[s.index].name + "' (bytes " + std::to_string(s.begin) + ".." +
                        std::to_string(s.end) + ") overlap");
    if (s.begin > cursor)
      corrupt(path, "bytes " + std::to_string(cursor) + ".." + std::to_string(s.begin) +
                        " of the data section belong to no tensor");
    cursor = s.end;
    prev = &s;
  }
  if (cursor != data_size)
    corrupt(path, std::to_string(data_size - cursor) +
                      " bytes at the end of the file belong to no tensor");
  std::vector<TensorInfo> ordered;
  ordered.reserve(spans.size());
  for (const Span& s : spans) ordered.push_back(std::move(impl->tensors[s.index]));
  impl->tensors = std::move(ordered);

  const auto it = impl->metadata.find(kManifestKey);
  if (it == impl->metadata.end())
    corrupt(path, std::string("has no hesp manifest (metadata key '") + kManifestKey +
                      "'); it is a safetensors file but not a hesp model pack");
  impl->manifest =
      parse_json(it->second.data(), it->second.data() + it->second.size(), path, "the manifest");
  const std::string problem = manifest_problem(impl->manifest);
  if (!problem.empty()) corrupt(path, problem);
  impl->header = read_header(impl->manifest);
  return ModelPack(std::move(impl));
}

// ---------------------------------------------------------------------------------------------
// Writing

void write_pack(const std::string& path, const nlohmann::json& manifest,
                const std::vector<TensorInfo>& tensors,
                const std::map<std::string, std::string>& extra_metadata) {
  if (!host_is_little_endian())
    throw Error("model packs are little-endian and this host is not; writing them is unsupported");
  const std::string problem = manifest_problem(manifest);
  if (!problem.empty()) throw SettingsError("cannot write model pack '" + path + "': " + problem);
  if (extra_metadata.count(kManifestKey))
    throw SettingsError(std::string("cannot write model pack '") + path + "': metadata key '" +
                        kManifestKey + "' is reserved for the manifest");

  // Largest elements first, then by name: every tensor then starts at a multiple of its element
  // size (the header is padded to 8 bytes), which is the layout the safetensors library writes.
  std::vector<const TensorInfo*> order;
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__")
      throw SettingsError("cannot write model pack '" + path + "': bad tensor name '" + t.name +
                          "'");
    if (!names.insert(t.name).second)
      throw SettingsError("cannot write model pack '" + path + "': tensor '" + t.name +
                          "' is given twice");
    std::uint64_t expected = 0;
    if (!byte_count(t.shape, dtype_size(t.dtype), &expected) || expected != t.nbytes)
      throw SettingsError("cannot write model pack '" + path + "': tensor '" + t.name +
                          "' has shape " + shape_text(t.shape) + " of " + dtype_name(t.dtype) +
                          " but " + std::to_string(t.nbytes) + " bytes");
    if (t.nbytes && !t.data)
      throw SettingsError("cannot write model pack '" + path + "': tensor '" + t.name +
                          "' has no data");
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    const auto sa = dtype_size(a->dtype), sb = dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });

  nlohmann::json header = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : extra_metadata) meta[k] = v;
  meta[kManifestKey] = manifest.dump();
  header["__metadata__"] = meta;
  std::uint64_t offset = 0;
  for (const TensorInfo* t : order) {
    header[t->name] = {{"dtype", dtype_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->nbytes}}};
    offset += t->nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::error_code ec;
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw Error("cannot write model pack '" + path + "': " + std::strerror(errno));
  FILE* f = ::fdopen(fd, "wb");
  if (!f) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error("cannot write model pack '" + path + "': " + std::strerror(err));
  }
  std::uint8_t len_bytes[8];
  std::uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<std::uint8_t>(len >> (8 * i));
  bool ok = std::fwrite(len_bytes, 1, 8, f) == 8;
  ok = ok && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const TensorInfo* t : order) {
    if (!ok) break;
    if (t->nbytes) ok = std::fwrite(t->data, 1, t->nbytes, f) == t->nbytes;
  }
  const int write_err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    throw Error("cannot write model pack '" + path + "': " + std::strerror(write_err));
  }
  // mkstemp creates the file 0600; a model pack is meant to be shared like any data file.
  ::chmod(tmp.c_str(), 0644);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write model pack '" + path + "': " + std::strerror(err));
  }
}

}  // namespace hesp

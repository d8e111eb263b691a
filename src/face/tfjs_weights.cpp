// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face/tfjs_weights.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

#include "hesp/error.h"

namespace hesp {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::uint8_t> read_bytes(const fs::path& path, const char* what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw FileNotFoundError(std::string(what) + " '" + path.string() + "' not found");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CorruptFileError(std::string("cannot open ") + what + " '" + path.string() + "'");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad())
    throw CorruptFileError(std::string("cannot read ") + what + " '" + path.string() + "'");
  return bytes;
}

float half_to_float(std::uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(mantissa, -24);  // zero and subnormals
  } else if (exponent == 31) {
    magnitude = mantissa != 0 ? std::numeric_limits<double>::quiet_NaN()
                              : std::numeric_limits<double>::infinity();
  } else {
    magnitude = std::ldexp(1024 + mantissa, exponent - 25);
  }
  return static_cast<float>((h & 0x8000) ? -magnitude : magnitude);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// How one weight is stored in its shard.
struct Encoding {
  std::size_t bytes_per_value = 4;
  enum { kFloat32, kUint8, kUint16, kFloat16, kInt32 } kind = kFloat32;
  double scale = 1.0;
  double min = 0.0;
};

Encoding encoding_of(const json& spec, const std::string& name, TfjsInt32Weights int32,
                     const std::function<CorruptFileError(const std::string&)>& bad) {
  const json& dtype = spec.at("dtype");
  if (int32 == TfjsInt32Weights::kSkip && dtype == "int32") {
    if (spec.contains("quantization"))
      throw bad("weight '" + name + "' is a quantised int32 weight, which is not supported");
    Encoding e;
    e.kind = Encoding::kInt32;
    return e;
  }
  if (dtype != "float32")
    throw bad("weight '" + name + "' has dtype " + dtype.dump() + ", expected float32" +
              (int32 == TfjsInt32Weights::kSkip ? " or int32" : ""));
  Encoding e;
  if (!spec.contains("quantization")) return e;
  const json& q = spec["quantization"];
  if (!q.is_object() || !q.contains("dtype") || !q["dtype"].is_string())
    throw bad("weight '" + name + "' has a malformed 'quantization' entry");
  const std::string qtype = q["dtype"].get<std::string>();
  if (qtype == "float16") {
    e.kind = Encoding::kFloat16;
    e.bytes_per_value = 2;
    return e;
  }
  if (qtype != "uint8" && qtype != "uint16")
    throw bad("weight '" + name + "' uses unsupported quantization '" + qtype + "'");
  if (!q.contains("scale") || !q["scale"].is_number() || !q.contains("min") ||
      !q["min"].is_number())
    throw bad("weight '" + name + "' is quantised to " + qtype + " without 'scale' and 'min'");
  e.kind = qtype == "uint8" ? Encoding::kUint8 : Encoding::kUint16;
  e.bytes_per_value = qtype == "uint8" ? 1 : 2;
  e.scale = q["scale"].get<double>();
  e.min = q["min"].get<double>();
  return e;
}

void decode(const std::uint8_t* p, const Encoding& e, std::vector<float>& out) {
  const std::size_t n = out.size();
  switch (e.kind) {
    case Encoding::kFloat32:
      // TFJS shards are little-endian, as is every host this library targets.
      std::memcpy(out.data(), p, n * 4);
      break;
    case Encoding::kUint8:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(p[i] * e.scale + e.min);
      break;
    case Encoding::kUint16:
      for (std::size_t i = 0; i < n; ++i) {
        const unsigned v = p[2 * i] | (p[2 * i + 1] << 8);
        out[i] = static_cast<float>(v * e.scale + e.min);
      }
      break;
    case Encoding::kFloat16:
      for (std::size_t i = 0; i < n; ++i)
        out[i] = half_to_float(static_cast<std::uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
      break;
    case Encoding::kInt32:
      break;  // never decoded: the readers skip int32 weights
  }
}

}  // namespace

std::int64_t TfjsTensor::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

json read_tfjs_json(const std::string& path, const std::string& what) {
  const std::vector<std::uint8_t> text =
      read_bytes(fs::path(path), ("TensorFlow.js " + what).c_str());
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw CorruptFileError("TensorFlow.js " + what + " '" + path + "': not valid JSON (" +
                           e.what() + ")");
  }
}

TfjsWeightMap read_tfjs_weight_map(const std::string& manifest_path) {
  const json manifest = read_tfjs_json(manifest_path, "weights manifest");
  if (!manifest.is_array() || manifest.empty())
    throw CorruptFileError("TensorFlow.js weights manifest '" + manifest_path +
                           "': expected a JSON array of weight groups");
  return read_tfjs_weight_groups(manifest, manifest_path, "weights manifest",
                                 TfjsInt32Weights::kRefuse);
}

TfjsWeightMap read_tfjs_weight_groups(const json& groups, const std::string& file,
                                      const std::string& what, TfjsInt32Weights int32) {
  const fs::path folder = fs::path(file).parent_path();
  const std::function<CorruptFileError(const std::string&)> bad = [&](const std::string& text) {
    return CorruptFileError("TensorFlow.js " + what + " '" + file + "': " + text);
  };
  TfjsWeightMap weights;
  for (const json& group : groups) {
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() ||
        group["paths"].empty() || !group.contains("weights") || !group["weights"].is_array())
      throw bad("a weight group lacks 'paths' or 'weights'");
    // The shards of a group are one byte stream cut into files of at most a few MB each.
    std::vector<std::uint8_t> bytes;
    std::string shards;
    for (const json& p : group["paths"]) {
      if (!p.is_string()) throw bad("a shard path is not a string");
      const fs::path shard = folder / p.get<std::string>();
      const std::vector<std::uint8_t> part = read_bytes(shard, "TensorFlow.js weights shard");
      bytes.insert(bytes.end(), part.begin(), part.end());
      shards += (shards.empty() ? "'" : ", '") + shard.string() + "'";
    }
    std::uint64_t offset = 0;
    for (const json& spec : group["weights"]) {
      if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string() ||
          !spec.contains("shape") || !spec["shape"].is_array() || !spec.contains("dtype"))
        throw bad("a weight entry lacks 'name', 'shape' or 'dtype'");
      const std::string name = spec["name"].get<std::string>();
      TfjsTensor tensor;
      for (const json& d : spec["shape"]) {
        // Bounded so that the element count below cannot overflow.
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0 ||
            d.get<std::int64_t>() > (std::int64_t{1} << 24))
          throw bad("weight '" + name + "' has an invalid shape " + spec["shape"].dump());
        tensor.shape.push_back(d.get<std::int64_t>());
      }
      if (tensor.shape.size() > 6) throw bad("weight '" + name + "' has more than 6 dimensions");
      const Encoding encoding = encoding_of(spec, name, int32, bad);
      const std::uint64_t count = static_cast<std::uint64_t>(tensor.numel());
      const std::uint64_t need = count * encoding.bytes_per_value;
      if (count > (std::uint64_t{1} << 31) || offset + need > bytes.size())
        throw CorruptFileError("TensorFlow.js weights shard " + shards + " holds " +
                               std::to_string(bytes.size()) + " bytes, but weight '" + name +
                               "' of '" + file + "' needs bytes up to " +
                               std::to_string(offset + need) + " (truncated file?)");
      if (encoding.kind != Encoding::kInt32) {
        tensor.values.resize(count);
        decode(bytes.data() + offset, encoding, tensor.values);
        if (!weights.emplace(name, std::move(tensor)).second)
          throw bad("weight '" + name + "' is listed twice");
      }
      offset += need;
    }
    if (offset != bytes.size())
      throw CorruptFileError("TensorFlow.js weights shard " + shards + " holds " +
                             std::to_string(bytes.size()) + " bytes, but the weights '" + file +
                             "' lists for it take " + std::to_string(offset) + " (shard and " +
                             what + " do not belong together)");
  }
  return weights;
}

const TfjsTensor& require_tfjs_tensor(const TfjsWeightMap& weights, const std::string& name,
                                      const std::vector<std::int64_t>& shape,
                                      const std::string& source) {
  const auto it = weights.find(name);
  if (it == weights.end()) throw CorruptFileError("'" + source + "' has no weight '" + name + "'");
  if (it->second.shape != shape)
    throw CorruptFileError("weight '" + name + "' of '" + source + "' has shape " +
                           shape_text(it->second.shape) + ", expected " + shape_text(shape));
  return it->second;
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// Model pack I/O: what is written reads back bit for bit, and every kind of damage gives a
// CorruptFileError that names the file and the problem (never a crash).
#include "hesp/model_pack.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hesp/error.h"
#include "models_support.h"

namespace hesp {
namespace {

using nlohmann::json;
using test::scratch;

json valid_manifest() {
  return {{"format_version", 1},
          {"kind", "fer-cnn"},
          {"name", "test-pack"},
          {"classes", {"neutral", "happy"}},
          {"architecture", {{"type", "test"}}},
          {"input", {{"size", 112}}},
          {"frames_per_clip", 8},
          {"open_set", {{"score", "max_logit"}, {"unknown_threshold", -1.5}}},
          {"provenance", {{"source", "unit test"}}}};
}

using test::read_bytes;
using test::write_bytes;

// A safetensors file built by hand: header length, header text, data.
std::string raw_pack(const std::string& header, const std::string& data, std::uint64_t len = 0) {
  if (len == 0) len = header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + header + data;
}

json header_with(json tensors, const json& manifest = valid_manifest()) {
  tensors["__metadata__"] = {{kManifestKey, manifest.dump()}};
  return tensors;
}

// Opens `bytes` as a pack and returns the CorruptFileError message ("" when none was thrown).
std::string corrupt_message(const std::string& name, const std::string& bytes) {
  const std::string path = scratch().file(name);
  write_bytes(path, bytes);
  try {
    ModelPack::open(path);
  } catch (const CorruptFileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    return msg;
  }
  ADD_FAILURE() << name << ": no CorruptFileError";
  return "";
}

TEST(ModelPack, RoundTripKeepsTensorsManifestAndMetadata) {
  const std::vector<float> f32 = {1.5f, -2.25f, 3.0f, 1e-30f, -0.0f, 65504.0f};
  const std::vector<std::int64_t> i64 = {-1, 0, 1ll << 40};
  const std::vector<std::uint8_t> u8 = {0, 127, 255};
  const std::vector<std::uint16_t> bf16 = {0x3f80, 0xc000};
  const float scalar = 42.0f;
  std::vector<TensorInfo> tensors = {
      {"weights.f32", DType::kF32, {2, 3}, f32.data(), f32.size() * 4},
      {"ids", DType::kI64, {3}, i64.data(), i64.size() * 8},
      {"bytes", DType::kU8, {1, 3}, u8.data(), 3},
      {"half", DType::kBF16, {2}, bf16.data(), 4},
      {"scalar", DType::kF32, {}, &scalar, 4},
      {"empty", DType::kF32, {0, 4}, nullptr, 0},
  };
  const std::string path = scratch().file("roundtrip.safetensors");
  write_pack(path, valid_manifest(), tensors, {{"note", "kept"}});

  const ModelPack pack = ModelPack::open(path);
  EXPECT_EQ(pack.manifest(), valid_manifest());
  EXPECT_EQ(pack.kind(), "fer-cnn");
  EXPECT_EQ(pack.name(), "test-pack");
  EXPECT_EQ(pack.metadata().at("note"), "kept");
  ASSERT_EQ(pack.tensors().size(), tensors.size());
  for (const TensorInfo& want : tensors) {
    const TensorInfo* got = pack.find(want.name);
    ASSERT_NE(got, nullptr) << want.name;
    EXPECT_EQ(got->dtype, want.dtype) << want.name;
    EXPECT_EQ(got->shape, want.shape) << want.name;
    ASSERT_EQ(got->nbytes, want.nbytes) << want.name;
    if (want.nbytes) {
      EXPECT_EQ(std::memcmp(got->data, want.data, want.nbytes), 0) << want.name;
    }
  }
  EXPECT_EQ(pack.tensor("scalar").numel(), 1);
  EXPECT_EQ(pack.tensor("empty").numel(), 0);
  EXPECT_EQ(pack.find("absent"), nullptr);
  EXPECT_THROW(pack.tensor("absent"), CorruptFileError);
}

// What other safetensors readers rely on: little-endian length, a JSON header padded to 8 bytes,
// dtype spellings, and the manifest as a string in __metadata__.
TEST(ModelPack, FileLayoutIsStandardSafetensors) {
  const std::vector<float> v = {1.0f, 2.0f};
  const std::vector<std::uint8_t> b = {7};
  const std::string path = scratch().file("layout.safetensors");
  write_pack(path, valid_manifest(),
             {{"b", DType::kU8, {1}, b.data(), 1}, {"v", DType::kF32, {2}, v.data(), 8}});
  const std::string bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<std::uint8_t>(bytes[i]);
  EXPECT_EQ(len % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + len + 9);
  const json header = json::parse(bytes.substr(8, len));
  EXPECT_EQ(header["v"]["dtype"], "F32");
  EXPECT_EQ(header["b"]["dtype"], "U8");
  // Wider elements first, so each tensor is aligned to its element size.
  EXPECT_EQ(header["v"]["data_offsets"], json({0, 8}));
  EXPECT_EQ(header["b"]["data_offsets"], json({8, 9}));
  ASSERT_TRUE(header["__metadata__"][kManifestKey].is_string());
  EXPECT_EQ(json::parse(header["__metadata__"][kManifestKey].get<std::string>()), valid_manifest());
  float first;
  std::memcpy(&first, bytes.data() + 8 + len, 4);
  EXPECT_EQ(first, 1.0f);
}

TEST(ModelPack, MissingFileIsFileNotFound) {
  const std::string path = scratch().file("does-not-exist.safetensors");
  try {
    ModelPack::open(path);
    FAIL() << "no exception";
  } catch (const FileNotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST(ModelPack, FolderIsCorrupt) {
  EXPECT_THROW(ModelPack::open(scratch().path()), CorruptFileError);
}

TEST(ModelPack, ShortAndTruncatedFiles) {
  EXPECT_NE(corrupt_message("empty.st", "").find("too short"), std::string::npos);
  EXPECT_NE(corrupt_message("seven.st", "1234567").find("too short"), std::string::npos);

  // A real pack cut short, at several places: inside the length, the header and the data.
  const std::vector<float> v(64, 0.5f);
  const std::string path = scratch().file("whole.safetensors");
  write_pack(path, valid_manifest(), {{"v", DType::kF32, {64}, v.data(), 256}});
  const std::string whole = read_bytes(path);
  for (std::size_t keep : {std::size_t{5}, std::size_t{40}, whole.size() - 256, whole.size() - 1}) {
    const std::string msg = corrupt_message("cut.st", whole.substr(0, keep));
    EXPECT_TRUE(msg.find("truncated") != std::string::npos ||
                msg.find("too short") != std::string::npos)
        << "cut at " << keep << ": " << msg;
  }
}

TEST(ModelPack, BadHeaders) {
  EXPECT_NE(corrupt_message("huge-len.st", raw_pack("{}", "", 1ull << 62)).find("header length"),
            std::string::npos);
  EXPECT_NE(corrupt_message("not-json.st", raw_pack("{\"a\": [1, 2", "")).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(corrupt_message("array.st", raw_pack("[1, 2, 3]", "")).find("not a JSON object"),
            std::string::npos);
  // Random bytes where the header should be.
  std::string noise(64, '\0');
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 73 + 11) & 0xff);
  EXPECT_NE(corrupt_message("noise.st", raw_pack(noise, "")).find("not valid JSON"),
            std::string::npos);
}

TEST(ModelPack, BadTensorEntries) {
  const std::string data(16, '\0');
  auto msg = [&](const char* name, const json& tensors) {
    return corrupt_message(name, raw_pack(header_with(tensors).dump(), data));
  };
  EXPECT_NE(msg("dtype.st", {{"t", {{"dtype", "F31"}, {"shape", {4}}, {"data_offsets", {0, 16}}}}})
                .find("unknown dtype 'F31'"),
            std::string::npos);
  EXPECT_NE(msg("shape.st", {{"t", {{"dtype", "F32"}, {"shape", {-4}}, {"data_offsets", {0, 16}}}}})
                .find("tensor 't'"),
            std::string::npos);
  EXPECT_NE(msg("size.st", {{"t", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 16}}}}})
                .find("needs 12 bytes"),
            std::string::npos);
  EXPECT_NE(msg("reversed.st", {{"t", {{"dtype", "U8"}, {"shape", {0}}, {"data_offsets", {9, 8}}}}})
                .find("reversed"),
            std::string::npos);
  EXPECT_NE(msg("past.st", {{"t", {{"dtype", "F32"}, {"shape", {8}}, {"data_offsets", {0, 32}}}}})
                .find("run past the data section"),
            std::string::npos);
  EXPECT_NE(msg("offsets.st", {{"t", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", "0-16"}}}})
                .find("data_offsets"),
            std::string::npos);
  EXPECT_NE(msg("nodtype.st", {{"t", {{"shape", {4}}, {"data_offsets", {0, 16}}}}})
                .find("'dtype' is missing"),
            std::string::npos);
}

TEST(ModelPack, OverlappingGappedAndTrailingData) {
  const std::string data(16, '\0');
  const json overlap = {{"a", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 12}}}},
                        {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8, 16}}}}};
  const std::string m1 = corrupt_message("overlap.st", raw_pack(header_with(overlap).dump(), data));
  EXPECT_NE(m1.find("overlap"), std::string::npos) << m1;
  EXPECT_NE(m1.find("'a'"), std::string::npos) << m1;
  EXPECT_NE(m1.find("'b'"), std::string::npos) << m1;

  const json gap = {{"a", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, 4}}}},
                    {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8, 16}}}}};
  EXPECT_NE(corrupt_message("gap.st", raw_pack(header_with(gap).dump(), data))
                .find("belong to no tensor"),
            std::string::npos);

  const json short_use = {{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}};
  EXPECT_NE(corrupt_message("trailing.st", raw_pack(header_with(short_use).dump(), data))
                .find("at the end of the file"),
            std::string::npos);
}

TEST(ModelPack, ManifestProblems) {
  auto msg = [](const char* name, const json& header) {
    return corrupt_message(name, raw_pack(header.dump(), ""));
  };
  EXPECT_NE(msg("nometa.st", json::object()).find("no hesp manifest"), std::string::npos);
  EXPECT_NE(msg("badmeta.st", {{"__metadata__", {{kManifestKey, 3}}}}).find("not a string"),
            std::string::npos);
  EXPECT_NE(msg("badjson.st", {{"__metadata__", {{kManifestKey, "{kind: fer}"}}}})
                .find("manifest is not valid JSON"),
            std::string::npos);
  for (const char* field : {"format_version", "kind", "name", "classes", "architecture", "input",
                            "frames_per_clip", "open_set", "provenance"}) {
    json m = valid_manifest();
    m.erase(field);
    const std::string text = msg("field.st", header_with(json::object(), m));
    EXPECT_NE(text.find(field), std::string::npos) << field << ": " << text;
  }
  json m = valid_manifest();
  m["open_set"].erase("unknown_threshold");
  EXPECT_NE(msg("threshold.st", header_with(json::object(), m)).find("unknown_threshold"),
            std::string::npos);
  m = valid_manifest();
  m["format_version"] = kModelPackFormatVersion + 1;
  EXPECT_NE(msg("newer.st", header_with(json::object(), m)).find("newer"), std::string::npos);
  m = valid_manifest();
  m["classes"] = {"happy", "happy"};
  EXPECT_NE(msg("dup.st", header_with(json::object(), m)).find("twice"), std::string::npos);
}

// A value that is there but unusable is named with what it is and what it must be, never reported
// as missing; sizes that no model takes are refused at open, before anything is allocated.
TEST(ModelPack, InvalidValuesAreNamedNotMissing) {
  struct Case {
    const char* name;
    std::vector<std::string> path;
    json value;
    std::vector<std::string> expected;  // substrings of the message
  };
  const std::vector<Case> cases = {
      {"size-huge", {"input", "size"}, 100000, {"'input.size' is 100000", "1 to 1024"}},
      {"size-zero", {"input", "size"}, 0, {"'input.size' is 0", "1 to 1024"}},
      {"size-text", {"input", "size"}, "112", {"'input.size' is \"112\"", "integer"}},
      {"frames-negative", {"frames_per_clip"}, -3, {"'frames_per_clip' is -3", "1 to 256"}},
      {"frames-huge", {"frames_per_clip"}, 100000, {"'frames_per_clip' is 100000"}},
      {"threshold-nan",
       {"open_set", "unknown_threshold"},
       "NaN",
       {"'open_set.unknown_threshold' is \"NaN\"", "finite number"}},
      {"rule", {"open_set", "score"}, "entropy", {"'open_set.score' is \"entropy\"", "max_logit"}},
      {"margin", {"input", "face_margin"}, 7.5, {"'input.face_margin' is 7.5", "0..2"}},
      {"kind-empty", {"kind"}, "", {"'kind' is \"\"", "non-empty string"}},
      {"classes-object", {"classes"}, json::object(), {"'classes' is {}"}},
  };
  for (const Case& c : cases) {
    json m = valid_manifest();
    json* at = &m;
    for (const std::string& key : c.path) at = &(*at)[key];
    *at = c.value;
    const std::string text = corrupt_message(std::string(c.name) + ".st",
                                             raw_pack(header_with(json::object(), m).dump(), ""));
    EXPECT_EQ(text.find("missing"), std::string::npos) << c.name << ": " << text;
    for (const std::string& want : c.expected)
      EXPECT_NE(text.find(want), std::string::npos) << c.name << ": " << text;
  }
}

// Found by fuzzing: JSON nested far deeper than any pack needs made later printing overflow the
// stack, and a shape whose dimensions overflow int64 before a zero passed the byte-count check.
TEST(ModelPack, DeepJsonAndOverflowingShapesAreRefused) {
  std::string deep = "[]";
  for (int i = 0; i < 5000; ++i) deep = "[" + deep + "]";
  json m = valid_manifest();
  std::string text = m.dump();
  text.replace(text.find("\"provenance\":{"), 0, "\"deep\":" + deep + ",");
  const std::string deep_header = json{{"__metadata__", {{kManifestKey, text}}}}.dump();
  EXPECT_NE(corrupt_message("deep.st", raw_pack(deep_header, "")).find("levels deep"),
            std::string::npos);
  std::string deep_tensor = R"({"t":)" + deep + "}";
  EXPECT_NE(corrupt_message("deep-header.st", raw_pack(deep_tensor, "")).find("levels deep"),
            std::string::npos);

  const json overflow = header_with(
      {{"t",
        {{"dtype", "U8"}, {"shape", {4294967296LL, 2147483648LL, 0}}, {"data_offsets", {0, 0}}}}});
  EXPECT_NE(corrupt_message("overflow.st", raw_pack(overflow.dump(), "")).find("too large"),
            std::string::npos);
}

TEST(ModelPack, HeaderHoldsTheCommonFields) {
  json m = valid_manifest();
  m["input"]["face_margin"] = 0.25;
  const std::string path = scratch().file("header.safetensors");
  write_pack(path, m, {});
  const ModelPack pack = ModelPack::open(path);
  const PackHeader& h = pack.header();
  EXPECT_EQ(h.kind, "fer-cnn");
  EXPECT_EQ(h.name, "test-pack");
  EXPECT_EQ(h.classes, (std::vector<std::string>{"neutral", "happy"}));
  EXPECT_EQ(h.input_size, 112);
  EXPECT_EQ(h.frames_per_clip, 8);
  EXPECT_DOUBLE_EQ(h.face_margin, 0.25);
  EXPECT_EQ(h.score_rule, "max_logit");
  EXPECT_DOUBLE_EQ(h.unknown_threshold, -1.5);
}

TEST(ModelPack, WriterRefusesWhatCouldNotBeRead) {
  const std::vector<float> v = {1.0f, 2.0f};
  const std::string path = scratch().file("refused.safetensors");
  json m = valid_manifest();
  m.erase("classes");
  EXPECT_THROW(write_pack(path, m, {}), SettingsError);
  EXPECT_THROW(write_pack(path, valid_manifest(), {{"v", DType::kF32, {3}, v.data(), 8}}),
               SettingsError);
  EXPECT_THROW(
      write_pack(path, valid_manifest(),
                 {{"v", DType::kF32, {2}, v.data(), 8}, {"v", DType::kF32, {2}, v.data(), 8}}),
      SettingsError);
  EXPECT_THROW(write_pack(path, valid_manifest(), {}, {{kManifestKey, "x"}}), SettingsError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ModelPack, DTypeNames) {
  for (const char* name : {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"}) {
    DType d;
    ASSERT_TRUE(parse_dtype(name, &d)) << name;
    EXPECT_STREQ(dtype_name(d), name);
  }
  DType d;
  EXPECT_FALSE(parse_dtype("f32", &d));
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
}

}  // namespace
}  // namespace hesp

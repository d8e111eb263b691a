// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp convert openai-clip`: a clip-zeroshot pack from an OpenAI CLIP checkpoint, its BPE
// vocabulary and class names or descriptions. See docs/clip.md.
#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "clip/clip_checkpoint.h"
#include "hesp/clip_encoder.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "hesp/tokenizer.h"
#include "hesp_config.h"
#include "models/clip_pack_parts.h"
#include "models/clip_zeroshot_model.h"
#include "models/pack_support.h"
#include "models/precision.h"

namespace hesp {

namespace {

// CLIP's published input normalisation, in 0-255 units as the manifest states it.

// SHA-256 (FIPS 180-4) for the provenance record; the core library has no crypto dependency
// and this is the only hash it needs.
class Sha256 {
 public:
  void update(const unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      block_[fill_++] = p[i];
      if (fill_ == 64) {
        compress();
        fill_ = 0;
      }
    }
    length_ += n;
  }
  std::string hex() {
    const std::uint64_t bits = length_ * 8;
    const unsigned char one = 0x80, zero = 0;
    update(&one, 1);
    while (fill_ != 56) update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(len, 8);
    std::string out;
    char buf[9];
    for (std::uint32_t v : h_) {
      std::snprintf(buf, sizeof buf, "%08x", v);
      out += buf;
    }
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void compress() {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t(block_[4 * i]) << 24 | std::uint32_t(block_[4 * i + 1]) << 16 |
             std::uint32_t(block_[4 * i + 2]) << 8 | block_[4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6],
                  h = h_[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 =
          h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 =
          (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    const std::uint32_t v[8] = {a, b, c, d, e, f, g, h};
    for (int i = 0; i < 8; ++i) h_[i] += v[i];
  }

  std::array<std::uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char block_[64] = {};
  std::size_t fill_ = 0;
  std::uint64_t length_ = 0;
};

std::vector<unsigned char> read_bytes(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileNotFoundError(std::string(what) + " '" + path + "' not found");
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string sha256_hex(const std::vector<unsigned char>& bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

std::vector<std::pair<std::string, std::vector<std::string>>> read_class_descriptions(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) throw FileNotFoundError("class-descriptions file '" + path + "' not found");
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  std::map<std::string, std::size_t> index;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    const auto tab = line.find('\t');
    if (tab == std::string::npos)
      throw CorruptFileError(where + "expected 'class<TAB>prompt', found no tab");
    const std::string name = trim(line.substr(0, tab));
    if (name.empty()) throw CorruptFileError(where + "the class name is empty");
    auto [it, fresh] = index.emplace(name, out.size());
    if (fresh) out.push_back({name, {}});
    std::size_t start = tab + 1;
    while (true) {
      const auto next = line.find('\t', start);
      const std::string prompt =
          trim(line.substr(start, next == std::string::npos ? std::string::npos : next - start));
      if (prompt.empty())
        throw CorruptFileError(where + "an empty prompt for class '" + name + "'");
      out[it->second].second.push_back(prompt);
      if (next == std::string::npos) break;
      start = next + 1;
    }
  }
  if (out.empty()) throw CorruptFileError("class-descriptions file '" + path + "' names no class");
  return out;
}

ClipZeroShotConvertReport convert_openai_clip(const ClipZeroShotConvertOptions& o) {
  if (o.output_path.empty()) throw SettingsError("no output pack given (-o)");
  if (o.classes.empty() == o.descriptions_path.empty())
    throw SettingsError("give either class names or a class-descriptions file, not both");
  if (o.templates.empty()) throw SettingsError("at least one prompt template is needed");
  for (const std::string& t : o.templates)
    if (t.find("{}") == std::string::npos)
      throw SettingsError("template '" + t + "' has no {} where the class name goes");
  if (o.frames_per_clip < 1) throw SettingsError("frames_per_clip must be positive");
  const auto& rules = open_set_score_rules();
  if (std::find(rules.begin(), rules.end(), o.score_rule) == rules.end())
    throw SettingsError("unknown open-set score rule '" + o.score_rule + "'");
  if (std::isnan(o.unknown_threshold) && o.score_rule != "max_logit")
    throw SettingsError("score rule '" + o.score_rule +
                        "' has no default threshold: give --unknown-threshold");
  const models::TowerKernel kernel =
      models::calibration_kernel(o.precision, models::kernel_host("cpu"));

  // Classes and their prompts, before any heavy loading, so a bad file fails fast.
  std::vector<std::pair<std::string, std::vector<std::string>>> classes;
  if (!o.descriptions_path.empty()) {
    classes = read_class_descriptions(o.descriptions_path);
  } else {
    std::set<std::string> seen;
    for (const std::string& raw : o.classes) {
      const std::string name = trim(raw);
      if (name.empty()) throw SettingsError("empty class name in --classes");
      if (!seen.insert(name).second) throw SettingsError("class '" + name + "' given twice");
      classes.push_back({name, models::prompts_for(name, o.templates)});
    }
  }

  const std::vector<unsigned char> vocab = read_bytes(o.vocab_path, "CLIP vocabulary");
  const Tokenizer tokenizer(o.vocab_path);
  const std::vector<unsigned char> checkpoint_bytes = read_bytes(o.checkpoint, "CLIP checkpoint");
  ClipOptions clip_options;
  clip_options.precision = kernel.bf16 ? ClipPrecision::kBFloat16 : ClipPrecision::kFloat32;
  clip_options.use_onednn = kernel.onednn;
  const std::unique_ptr<ClipEncoder> encoder = ClipEncoder::load(o.checkpoint, clip_options);
  const ClipGeometry& g = encoder->geometry();

  ClipZeroShotConvertReport report;
  report.output_path = o.output_path;
  report.classes = static_cast<int>(classes.size());
  report.input_size = g.image_size;
  report.embed_dim = g.embed_dim;
  report.logit_scale = encoder->logit_scale();
  report.checkpoint_sha256 = sha256_hex(checkpoint_bytes);
  report.precision = models::recorded_name(kernel);
  report.unknown_threshold =
      std::isnan(o.unknown_threshold) ? o.unknown_cosine * report.logit_scale : o.unknown_threshold;

  std::vector<float> embeddings;
  nlohmann::json names = nlohmann::json::array(), prompts = nlohmann::json::object();
  for (const auto& [name, class_prompts] : classes) {
    const std::vector<float> e = models::class_embedding(*encoder, tokenizer, class_prompts);
    embeddings.insert(embeddings.end(), e.begin(), e.end());
    names.push_back(name);
    prompts[name] = class_prompts;
    report.prompts += static_cast<int>(class_prompts.size());
  }

  // The weights as the checkpoint stores them (fp16 for OpenAI's releases): the encoder computes
  // in fp32 from them either way, so this halves the pack at no cost in accuracy.
  const clip::TensorMap raw = clip::read_checkpoint_tensors(o.checkpoint);
  std::vector<at::Tensor> keep;
  std::vector<TensorInfo> tensors;
  for (const auto& [name, tensor] : raw) {
    if (!at::isFloatingType(tensor.scalar_type())) continue;  // restated geometry scalars
    at::Tensor t = tensor.contiguous();
    TensorInfo info;
    info.name = std::string("clip.") + name;
    info.dtype = models::clip_weight_dtype(t.scalar_type(), name, o.checkpoint);
    info.shape.assign(t.sizes().begin(), t.sizes().end());
    info.data = t.data_ptr();
    info.nbytes = t.nbytes();
    report.parameters += t.numel();
    tensors.push_back(std::move(info));
    keep.push_back(std::move(t));
  }
  TensorInfo emb;
  emb.name = kClassEmbeddingsTensor;
  emb.dtype = DType::kF32;
  emb.shape = {static_cast<std::int64_t>(classes.size()), g.embed_dim};
  emb.data = embeddings.data();
  emb.nbytes = embeddings.size() * sizeof(float);
  tensors.push_back(emb);
  TensorInfo voc;
  voc.name = kVocabTensor;
  voc.dtype = DType::kU8;
  voc.shape = {static_cast<std::int64_t>(vocab.size())};
  voc.data = vocab.data();
  voc.nbytes = vocab.size();
  tensors.push_back(voc);
  report.tensors = static_cast<int>(tensors.size());

  const std::string name =
      o.name.empty() ? std::filesystem::path(o.output_path).stem().string() : o.name;
  nlohmann::json open_set = {{"score", o.score_rule},
                             {"unknown_threshold", report.unknown_threshold},
                             {"precision", report.precision}};
  if (std::isnan(o.unknown_threshold)) {
    open_set["calibration"] = {
        {"method", "cosine rule of thumb, not calibrated on expression data"},
        {"unknown_cosine", o.unknown_cosine},
        {"logit_scale", report.logit_scale}};
  } else {
    open_set["calibration"] = {{"method", "given on the command line"}};
  }
  const nlohmann::json manifest = {
      {"format_version", kModelPackFormatVersion},
      {"kind", kClipZeroShotKind},
      {"name", name},
      {"classes", names},
      {"architecture", models::clip_architecture_manifest(clip::infer_geometry(raw, o.checkpoint))},
      {"input", models::clip_input_manifest(g.image_size, o.face_margin)},
      {"frames_per_clip", o.frames_per_clip},
      {"clip_pooling", "mean_embedding"},
      {"text",
       {{"templates", o.templates},
        {"prompts", prompts},
        {"source", o.descriptions_path.empty() ? "templates" : "class-descriptions"},
        {"logit_scale", report.logit_scale}}},
      {"open_set", open_set},
      {"provenance",
       {{"source", "OpenAI CLIP checkpoint"},
        {"checkpoint", std::filesystem::path(o.checkpoint).filename().string()},
        {"checkpoint_sha256", report.checkpoint_sha256},
        {"vocab", std::filesystem::path(o.vocab_path).filename().string()},
        {"vocab_sha256", sha256_hex(vocab)},
        {"license", "see the checkpoint's licence (OpenAI CLIP: MIT)"},
        {"converted_by", std::string("hesp ") + HESP_VERSION + " convert openai-clip"}}},
  };
  write_pack(o.output_path, manifest, tensors);
  return report;
}

}  // namespace hesp

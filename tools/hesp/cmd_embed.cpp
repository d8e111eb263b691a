// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp embed CHECKPOINT (--text ... | --image ... | --raw-input FILE --shape N,3,H,W)`: CLIP
// embeddings (projected into the joint space), one JSON array per input and line.
#include <sys/stat.h>

#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "hesp/clip_encoder.h"
#include "hesp/clip_preprocess.h"
#include "hesp/error.h"
#include "hesp/tokenizer.h"

namespace hesp::cli {

namespace {

constexpr const char* kVocabName = "bpe_simple_vocab_16e6.txt.gz";

struct EmbedOptions {
  std::string checkpoint;
  std::string vocab;
  std::vector<std::string> texts;
  std::vector<std::string> images;
  std::string raw_input;
  std::string shape;
  bool normalize = false;
  int threads = 0;
  int batch = 32;
  std::string device = "cpu";
  std::string precision = "fp32";
};

// A JSON array of floats in their shortest round-trip form ("0.1", not "0.10000000149011612" as
// printing them as doubles would).
std::string json_row(const float* v, int n) {
  std::string out = "[";
  char buf[32];
  for (int i = 0; i < n; ++i) {
    if (i) out += ',';
    const auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, r.ptr);
  }
  return out + "]";
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Users keep the vocabulary next to their CLIP weights; look there when --vocab is not given.
std::string find_vocab(const EmbedOptions& opt) {
  if (!opt.vocab.empty()) return opt.vocab;
  const std::size_t slash = opt.checkpoint.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : opt.checkpoint.substr(0, slash);
  const std::string guess = dir + "/" + kVocabName;
  if (exists(guess)) return guess;
  throw SettingsError(std::string("--text needs CLIP's vocabulary: pass --vocab FILE or put ") +
                      kVocabName + " next to the checkpoint");
}

std::vector<int> parse_shape(const std::string& text) {
  std::vector<int> dims;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    try {
      std::size_t used = 0;
      const int v = std::stoi(part, &used);
      if (used != part.size() || v <= 0) throw std::invalid_argument(part);
      dims.push_back(v);
    } catch (const std::exception&) {
      throw SettingsError("--shape '" + text + "': expected N,3,H,W with positive integers");
    }
  }
  if (dims.size() != 4 || dims[1] != 3)
    throw SettingsError("--shape '" + text + "': expected N,3,H,W");
  return dims;
}

std::vector<float> read_raw_input(const std::string& path, std::size_t count) {
  if (!exists(path)) throw FileNotFoundError("raw input '" + path + "' not found");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size != count * sizeof(float))
    throw InputError("raw input '" + path + "' holds " + std::to_string(size) +
                     " bytes; the shape needs " + std::to_string(count * sizeof(float)) +
                     " (float32, little-endian)");
  std::vector<float> data(count);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size));
  if (!in) throw CorruptFileError("cannot read raw input '" + path + "'");
  return data;
}

void run_embed(const EmbedOptions& opt) {
  const int inputs = !opt.texts.empty() + !opt.images.empty() + !opt.raw_input.empty();
  if (inputs != 1) throw SettingsError("give exactly one of --text, --image or --raw-input");
  if (!opt.raw_input.empty() && opt.shape.empty())
    throw SettingsError("--raw-input needs --shape N,3,H,W");
  if (opt.precision != "fp32" && opt.precision != "bf16")
    throw SettingsError("--precision must be fp32 or bf16");

  ClipOptions options;
  options.device = opt.device;
  options.threads = opt.threads;
  options.max_batch = opt.batch;
  options.precision = opt.precision == "bf16" ? ClipPrecision::kBFloat16 : ClipPrecision::kFloat32;
  std::unique_ptr<Tokenizer> tokenizer;
  if (!opt.texts.empty()) tokenizer = std::make_unique<Tokenizer>(find_vocab(opt));
  const auto encoder = ClipEncoder::load(opt.checkpoint, options);

  Embeddings out;
  if (tokenizer) {
    out = encoder->encode_text(tokenizer->tokenize(opt.texts, encoder->context_length(), false));
  } else if (!opt.images.empty()) {
    std::vector<RgbImage> images;
    std::vector<ClipEncoder::RgbView> views;
    for (const std::string& path : opt.images) images.push_back(read_rgb_image(path));
    for (const RgbImage& im : images)
      views.push_back({im.pixels.data(), im.width, im.height, im.width * 3});
    out = encoder->encode_rgb_images(views);
  } else {
    const std::vector<int> dims = parse_shape(opt.shape);
    if (dims[2] != encoder->input_size() || dims[3] != encoder->input_size())
      throw InputError("--shape " + opt.shape + " does not fit the model's " +
                       std::to_string(encoder->input_size()) + "x" +
                       std::to_string(encoder->input_size()) + " input");
    const std::size_t count = static_cast<std::size_t>(dims[0]) * 3 * dims[2] * dims[3];
    const std::vector<float> data = read_raw_input(opt.raw_input, count);
    out = encoder->encode_images(data.data(), dims[0]);
  }
  if (opt.normalize) out.normalize();
  for (int i = 0; i < out.count; ++i) std::cout << json_row(out.row(i), out.dim) << '\n';
}

}  // namespace

void add_embed_command(CLI::App& app) {
  auto opt = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand(
      "embed",
      "Print CLIP embeddings (projected, one JSON array per input and line) of texts, image "
      "files or raw normalised input tensors");
  cmd->add_option("checkpoint", opt->checkpoint,
                  "OpenAI CLIP checkpoint (.pt, ViT or ResNet image tower)")
      ->required();
  cmd->add_option("--vocab", opt->vocab,
                  std::string("CLIP's BPE vocabulary for --text (default: ") + kVocabName +
                      " next to the checkpoint)");
  cmd->add_option("--text", opt->texts, "Texts to embed");
  cmd->add_option("--image", opt->images,
                  "Image files to embed (CLIP preprocessing: short side resized, centre crop)");
  cmd->add_option("--raw-input", opt->raw_input,
                  "float32 little-endian NCHW file of already normalised images");
  cmd->add_option("--shape", opt->shape, "Shape of --raw-input as N,3,H,W");
  cmd->add_flag("--normalize", opt->normalize, "Scale each embedding to unit length");
  cmd->add_option("--threads", opt->threads, "Inference threads (0 = LibTorch default)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", opt->batch, "Inputs per forward pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--device", opt->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--precision", opt->precision, "fp32, or bf16 on CPUs with AVX-512 BF16")
      ->capture_default_str();
  cmd->callback([opt] { run_embed(*opt); });
}

}  // namespace hesp::cli

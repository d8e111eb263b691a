// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/clip_checkpoint.h"

#include <sys/stat.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <vector>

#include "clip/clip_from_pack.h"
#include "hesp/error.h"

namespace hesp::clip {

namespace {

std::string shape_text(c10::IntArrayRef shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Scalars OpenAI's build_model drops: they restate the geometry.
bool is_metadata(const std::string& name) {
  return name == "input_resolution" || name == "context_length" || name == "vocab_size";
}

std::string not_clip(const std::string& source, const std::string& what) {
  return "'" + source + "' is not a CLIP checkpoint: " + what;
}

const at::Tensor& require(const TensorMap& t, const std::string& name, int64_t dims,
                          const std::string& expected, const std::string& source) {
  const auto it = t.find(name);
  if (it == t.end()) throw CorruptFileError(not_clip(source, "no tensor '" + name + "'"));
  if (it->second.dim() != dims)
    throw CorruptFileError(not_clip(source, "tensor '" + name + "' has shape " +
                                                shape_text(it->second.sizes()) + ", expected " +
                                                expected));
  return it->second;
}

// Blocks prefix.0, prefix.1, ... present in the checkpoint, counted by their in_proj_weight.
int64_t count_blocks(const TensorMap& t, const std::string& prefix) {
  int64_t n = 0;
  while (t.count(prefix + std::to_string(n) + ".attn.in_proj_weight")) ++n;
  return n;
}

int64_t heads_for(int64_t width, const std::string& tower, const std::string& source) {
  // OpenAI's ViT and text towers all use 64-wide heads; the checkpoints do not store the count.
  if (width % 64 != 0)
    throw CorruptFileError(not_clip(source, tower + " width " + std::to_string(width) +
                                                " is not a multiple of 64 (heads are width/64)"));
  return width / 64;
}

TensorMap tensors_from_module(const torch::jit::Module& module) {
  TensorMap out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out[p.name] = p.value;
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out[b.name] = b.value;
  return out;
}

// A torch.save'd dict of tensors, possibly under "state_dict". Empty when it is something else.
TensorMap tensors_from_pickle(const c10::IValue& value) {
  TensorMap out;
  if (!value.isGenericDict()) return out;
  const auto dict = value.toGenericDict();
  for (const auto& entry : dict) {
    if (entry.key().isString() && entry.key().toStringRef() == "state_dict")
      return tensors_from_pickle(entry.value());
  }
  for (const auto& entry : dict) {
    if (!entry.key().isString() || !entry.value().isTensor()) return {};
    out[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

TensorMap read_checkpoint_tensors(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw FileNotFoundError("CLIP checkpoint '" + path + "' not found");
  if (S_ISDIR(st.st_mode))
    throw CorruptFileError("CLIP checkpoint '" + path + "' is a folder, expected a .pt file");
  // clip-zeroshot model packs carry the weights under the same names (clip_from_pack.h).
  if (looks_like_model_pack(path)) return read_pack_clip_tensors(path);
  std::string jit_error;
  try {
    // map_location CPU: OpenAI's archives were saved from CUDA tensors.
    torch::jit::Module module = torch::jit::load(path, torch::kCPU);
    return tensors_from_module(module);
  } catch (const c10::Error& e) {
    jit_error = e.what_without_backtrace();
  }
  // Not TorchScript: maybe a state dict written by torch.save (also a zip archive).
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  try {
    TensorMap tensors = tensors_from_pickle(torch::pickle_load(bytes));
    if (!tensors.empty()) return tensors;
  } catch (const c10::Error&) {
    // Report the TorchScript error below: that is the format users are expected to have.
  }
  const std::size_t line_end = jit_error.find('\n');
  throw CorruptFileError("'" + path +
                         "' is not a TorchScript archive or a saved state dict (OpenAI's CLIP .pt "
                         "files are TorchScript archives): " +
                         jit_error.substr(0, line_end));
}

std::string model_name_for(const std::string& openai_name) {
  if (starts_with(openai_name, "visual.") || openai_name == "logit_scale") return openai_name;
  return "text." + openai_name;
}

std::string openai_name_for(const std::string& model_name) {
  if (starts_with(model_name, "text.")) return model_name.substr(5);
  return model_name;
}

ModelGeometry infer_geometry(const TensorMap& t, const std::string& source) {
  if (t.count("visual.layer1.0.conv1.weight") || t.count("visual.attnpool.positional_embedding"))
    throw SettingsError("'" + source +
                        "' is a ResNet CLIP checkpoint (RN50 and relatives); only ViT ones are "
                        "supported");
  ModelGeometry g;
  VisionGeometry& v = g.vision;
  const at::Tensor& conv = require(t, "visual.conv1.weight", 4, "[width, 3, patch, patch]", source);
  if (conv.size(1) != 3 || conv.size(2) != conv.size(3))
    throw CorruptFileError(not_clip(source, "tensor 'visual.conv1.weight' has shape " +
                                                shape_text(conv.sizes()) +
                                                ", expected [width, 3, patch, patch]"));
  v.width = conv.size(0);
  v.patch_size = conv.size(2);
  v.heads = heads_for(v.width, "vision", source);
  v.layers = count_blocks(t, "visual.transformer.resblocks.");
  if (v.layers == 0)
    throw CorruptFileError(
        not_clip(source, "no tensor 'visual.transformer.resblocks.0.attn.in_proj_weight'"));
  const at::Tensor& vpos =
      require(t, "visual.positional_embedding", 2, "[grid * grid + 1, width]", source);
  const auto grid = static_cast<int64_t>(std::lround(std::sqrt(double(vpos.size(0) - 1))));
  if (grid < 1 || grid * grid + 1 != vpos.size(0))
    throw CorruptFileError(not_clip(source, "tensor 'visual.positional_embedding' has shape " +
                                                shape_text(vpos.sizes()) +
                                                ", expected [grid * grid + 1, width]"));
  v.image_size = grid * v.patch_size;
  v.embed_dim = require(t, "visual.proj", 2, "[width, embed_dim]", source).size(1);

  TextGeometry& x = g.text;
  x.width = require(t, "ln_final.weight", 1, "[width]", source).size(0);
  x.heads = heads_for(x.width, "text", source);
  x.layers = count_blocks(t, "transformer.resblocks.");
  if (x.layers == 0)
    throw CorruptFileError(
        not_clip(source, "no tensor 'transformer.resblocks.0.attn.in_proj_weight'"));
  x.context_length =
      require(t, "positional_embedding", 2, "[context_length, width]", source).size(0);
  x.vocab_size = require(t, "token_embedding.weight", 2, "[vocab_size, width]", source).size(0);
  x.embed_dim = require(t, "text_projection", 2, "[width, embed_dim]", source).size(1);
  if (x.embed_dim != v.embed_dim)
    throw CorruptFileError(not_clip(source, "image and text embeddings differ in size (" +
                                                std::to_string(v.embed_dim) + " vs " +
                                                std::to_string(x.embed_dim) + ")"));
  return g;
}

ClipModel build_model(const TensorMap& tensors, const std::string& source) {
  ClipModel model(infer_geometry(tensors, source));
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters(/*recurse=*/true)) {
    const std::string name = openai_name_for(item.key());
    at::Tensor& param = item.value();
    const auto it = tensors.find(name);
    if (it == tensors.end())
      throw CorruptFileError(not_clip(
          source, "no tensor '" + name + "' (expected shape " + shape_text(param.sizes()) + ")"));
    const at::Tensor& src = it->second;
    if (src.sizes() != param.sizes())
      throw CorruptFileError(not_clip(source, "tensor '" + name + "' has shape " +
                                                  shape_text(src.sizes()) + ", expected " +
                                                  shape_text(param.sizes())));
    if (!at::isFloatingType(src.scalar_type()))
      throw CorruptFileError(not_clip(source, "tensor '" + name + "' holds " +
                                                  std::string(c10::toString(src.scalar_type())) +
                                                  ", expected floating point values"));
    param.copy_(src);  // fp16 / bf16 / fp64 become fp32 here
    used.insert(name);
  }
  for (const auto& [name, tensor] : tensors) {
    if (!used.count(name) && !is_metadata(name))
      throw CorruptFileError(not_clip(source, "tensor '" + name + "' " +
                                                  shape_text(tensor.sizes()) +
                                                  " has no place in a ViT CLIP model"));
  }
  model->eval();
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  return model;
}

ClipModel load_clip_checkpoint(const std::string& path) {
  return build_model(read_checkpoint_tensors(path), path);
}

}  // namespace hesp::clip

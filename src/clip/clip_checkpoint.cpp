// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/clip_checkpoint.h"

#include <sys/stat.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>
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

// BatchNorm's count of training batches (int64), which OpenAI's ResNet files carry.
bool is_batch_count(const std::string& name) {
  static const std::string suffix = ".num_batches_tracked";
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
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

namespace {

// OpenAI's ResNet image tower, sized the way OpenAI's build_model sizes it: bottlenecks per stage
// from the parameter names, the width from the first bottleneck, the input side from the
// attention pool's positions (one per cell of the input / 32 grid, plus the mean token), the pool's
// heads from its width (32 x width, in 64-wide heads).
VisionGeometry infer_resnet_geometry(const TensorMap& t, const std::string& source) {
  VisionGeometry v;
  v.tower = VisionTower::kResNet;
  v.patch_size = 0;
  v.layers = 0;
  for (int s = 0; s < 4; ++s) {
    // The highest block index named plus one: a gap below it shows up as a missing tensor.
    const std::string prefix = "visual.layer" + std::to_string(s + 1) + ".";
    int64_t blocks = 0;
    for (auto it = t.lower_bound(prefix); it != t.end() && starts_with(it->first, prefix); ++it) {
      const std::string index =
          it->first.substr(prefix.size(), it->first.find('.', prefix.size()) - prefix.size());
      if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos ||
          index.size() > 4)
        throw CorruptFileError(
            not_clip(source, "tensor '" + it->first + "' does not name a bottleneck by number"));
      blocks = std::max<int64_t>(blocks, std::stoll(index) + 1);
    }
    if (blocks == 0)
      throw CorruptFileError(not_clip(
          source, "no tensor '" + prefix + "0.conv1.weight' (the ResNet tower has four stages)"));
    v.stage_blocks[s] = blocks;
    v.layers += blocks;
  }
  const at::Tensor& first =
      require(t, "visual.layer1.0.conv1.weight", 4, "[width, width, 1, 1]", source);
  v.width = first.size(0);
  if (v.width < 2 || v.width % 2 != 0)
    throw CorruptFileError(not_clip(source, "tensor 'visual.layer1.0.conv1.weight' has shape " +
                                                shape_text(first.sizes()) +
                                                ", expected an even width (the stem runs at "
                                                "width / 2)"));
  const int64_t pool_width = v.width * 32;
  const at::Tensor& pos = require(t, "visual.attnpool.positional_embedding", 2,
                                  "[grid * grid + 1, 32 * width]", source);
  const auto grid = static_cast<int64_t>(std::lround(std::sqrt(double(pos.size(0) - 1))));
  if (grid < 1 || grid * grid + 1 != pos.size(0) || pos.size(1) != pool_width)
    throw CorruptFileError(not_clip(
        source, "tensor 'visual.attnpool.positional_embedding' has shape " +
                    shape_text(pos.sizes()) + ", expected [grid * grid + 1, " +
                    std::to_string(pool_width) + "] (32 x the width of visual.layer1.0.conv1)"));
  v.image_size = grid * 32;
  v.heads = pool_width / 64;
  v.embed_dim =
      require(t, "visual.attnpool.c_proj.weight", 2, "[embed_dim, 32 * width]", source).size(0);
  return v;
}

// ViT image tower: width and patch from the patch embedding, blocks from the names, the input side
// from the positions (one per patch plus the class token).
VisionGeometry infer_vit_geometry(const TensorMap& t, const std::string& source) {
  VisionGeometry v;
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
  return v;
}

bool has_prefix(const TensorMap& t, const std::string& prefix) {
  const auto it = t.lower_bound(prefix);
  return it != t.end() && starts_with(it->first, prefix);
}

}  // namespace

VisionTower vision_tower(const TensorMap& t) {
  return has_prefix(t, "visual.layer1.") || has_prefix(t, "visual.attnpool.") ? VisionTower::kResNet
                                                                              : VisionTower::kViT;
}

ModelGeometry infer_geometry(const TensorMap& t, const std::string& source) {
  const bool resnet = vision_tower(t) == VisionTower::kResNet;
  if (resnet && has_prefix(t, "visual.transformer."))
    throw CorruptFileError(not_clip(source,
                                    "it holds both a ResNet image tower (visual.layer1.*, "
                                    "visual.attnpool.*) and a ViT one (visual.transformer.*)"));
  ModelGeometry g;
  g.vision = resnet ? infer_resnet_geometry(t, source) : infer_vit_geometry(t, source);
  const VisionGeometry& v = g.vision;

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
  // Parameters, and the ResNet tower's BatchNorm statistics (buffers).
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (auto& item : model->named_parameters(/*recurse=*/true))
    targets.emplace_back(item.key(), item.value());
  for (auto& item : model->named_buffers(/*recurse=*/true))
    targets.emplace_back(item.key(), item.value());
  for (auto& [model_name, param] : targets) {
    const std::string name = openai_name_for(model_name);
    const auto it = tensors.find(name);
    if (is_batch_count(name)) {
      // BatchNorm's update counter: kept when the file has it, else 0 (packs store only
      // floating-point tensors). Inference never reads it.
      if (it != tensors.end() && it->second.numel() == 1) {
        param.fill_(it->second.item<int64_t>());
        used.insert(name);
      }
      continue;
    }
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
      throw CorruptFileError(not_clip(
          source, "tensor '" + name + "' " + shape_text(tensor.sizes()) + " has no place in a " +
                      (model->geometry().vision.resnet() ? "ResNet" : "ViT") + " CLIP model"));
  }
  model->eval();
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  return model;
}

ClipModel load_clip_checkpoint(const std::string& path) {
  return build_model(read_checkpoint_tensors(path), path);
}

}  // namespace hesp::clip

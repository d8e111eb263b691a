// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/clip_init.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hesp/error.h"

namespace hesp::clip {

void normal_init(at::Tensor& t, double std) {
  torch::NoGradGuard no_grad;
  t.normal_(0.0, std);
}

void init_transformer_blocks(Transformer& transformer, int64_t width, int64_t layers) {
  const double proj_std = std::pow(double(width), -0.5) * std::pow(2.0 * double(layers), -0.5);
  const double attn_std = std::pow(double(width), -0.5);
  const double fc_std = std::pow(2.0 * double(width), -0.5);
  for (const auto& module : *transformer->resblocks) {
    auto block = std::dynamic_pointer_cast<ResidualBlockImpl>(module);
    normal_init(block->attn->in_proj_weight, attn_std);
    normal_init(block->attn->out_proj->weight, proj_std);
    normal_init(block->mlp->c_fc->weight, fc_std);
    normal_init(block->mlp->c_proj->weight, proj_std);
    torch::NoGradGuard no_grad;
    block->attn->in_proj_bias.zero_();
    block->attn->out_proj->bias.zero_();
  }
}

void init_resnet(ModifiedResNet& resnet) {
  auto& pool = resnet->attnpool;
  const int64_t width = pool->positional_embedding.size(1);
  const double std = std::pow(double(width), -0.5);
  normal_init(pool->positional_embedding, std);
  for (torch::nn::Linear* l : {&pool->q_proj, &pool->k_proj, &pool->v_proj, &pool->c_proj})
    normal_init((*l)->weight, std);
  torch::NoGradGuard no_grad;
  for (const torch::nn::ModuleList* stage :
       {&resnet->layer1, &resnet->layer2, &resnet->layer3, &resnet->layer4})
    for (const auto& block : **stage) block->as<BottleneckImpl>()->bn3->weight.zero_();
}

namespace {

int64_t heads_for(int64_t width) { return width / 64; }

// "resnet=A-B-C-D": bottlenecks per stage of OpenAI's ModifiedResNet (RN50 is 3-4-6-3).
void parse_resnet_stages(const std::string& spec, const std::string& value, VisionGeometry& v) {
  std::stringstream in(value);
  std::string part;
  std::vector<int64_t> blocks;
  while (std::getline(in, part, '-')) {
    std::size_t used = 0;
    long long number = 0;
    try {
      number = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || number < 1 || number > 64)
      throw SettingsError("CLIP geometry '" + spec +
                          "': resnet takes four stage depths from 1 to 64 like 3-4-6-3, not '" +
                          value + "'");
    blocks.push_back(number);
  }
  if (blocks.size() != 4)
    throw SettingsError("CLIP geometry '" + spec +
                        "': resnet takes four stage depths like 3-4-6-3, not '" + value + "'");
  v.tower = VisionTower::kResNet;
  v.patch_size = 0;
  v.layers = 0;
  for (int i = 0; i < 4; ++i) {
    v.stage_blocks[static_cast<std::size_t>(i)] = blocks[static_cast<std::size_t>(i)];
    v.layers += blocks[static_cast<std::size_t>(i)];
  }
}

// The ResNet tower's rules: the attention pool reads a (image / 32)^2 grid of 32 x width
// channels with OpenAI's head count (32 x width / 64), so width must be even and the image a
// multiple of 32. The text tower keeps the transformer's rules.
ModelGeometry checked_resnet(const std::string& spec, ModelGeometry g) {
  if (g.vision.image_size % 32 != 0)
    throw SettingsError("CLIP geometry '" + spec +
                        "': a ResNet tower needs an image size that is "
                        "a multiple of 32, not " +
                        std::to_string(g.vision.image_size));
  if (g.vision.width % 2 != 0)
    throw SettingsError("CLIP geometry '" + spec + "': a ResNet tower's width must be even, not " +
                        std::to_string(g.vision.width));
  if (g.text.width % 64 != 0)
    throw SettingsError("CLIP geometry '" + spec +
                        "': the text width must be a multiple of 64 (heads are width / 64), not " +
                        std::to_string(g.text.width));
  if (g.text.context_length < 8)
    throw SettingsError("CLIP geometry '" + spec + "': context must be at least 8 tokens");
  g.vision.layers = 0;
  for (int64_t blocks : g.vision.stage_blocks) g.vision.layers += blocks;
  g.vision.heads = g.vision.width * 32 / 64;
  g.text.heads = heads_for(g.text.width);
  return g;
}

}  // namespace

ClipModel random_clip_model(const ModelGeometry& geometry, std::uint64_t seed) {
  // Module constructors draw from the global generator; seed it so the whole model, default
  // initialisations included, follows from `seed`.
  torch::manual_seed(seed);
  ClipModel model(geometry);
  const VisionGeometry& v = geometry.vision;
  const TextGeometry& t = geometry.text;

  if (v.resnet()) {
    init_resnet(model->visual_resnet);
  } else {
    auto& visual = model->visual;
    const double vscale = std::pow(double(v.width), -0.5);
    normal_init(visual->class_embedding, vscale);
    normal_init(visual->positional_embedding, vscale);
    normal_init(visual->proj, vscale);
    init_transformer_blocks(visual->transformer, v.width, v.layers);
  }

  auto& text = model->text;
  normal_init(text->token_embedding->weight, 0.02);
  normal_init(text->positional_embedding, 0.01);
  normal_init(text->text_projection, std::pow(double(t.width), -0.5));
  init_transformer_blocks(text->transformer, t.width, t.layers);

  {
    torch::NoGradGuard no_grad;
    model->logit_scale.fill_(std::log(1.0 / 0.07));
  }
  model->train();
  for (auto& p : model->parameters()) p.set_requires_grad(true);
  return model;
}

ModelGeometry parse_geometry(const std::string& spec) {
  ModelGeometry g;
  std::map<std::string, int64_t*> fields = {
      {"image", &g.vision.image_size}, {"patch", &g.vision.patch_size},
      {"width", &g.vision.width},      {"layers", &g.vision.layers},
      {"text-width", &g.text.width},   {"text-layers", &g.text.layers},
      {"embed", &g.vision.embed_dim},  {"context", &g.text.context_length},
  };
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    if (key == "resnet" && eq != std::string::npos) {
      parse_resnet_stages(spec, item.substr(eq + 1), g.vision);
      continue;
    }
    const auto it = fields.find(key);
    if (eq == std::string::npos || it == fields.end())
      throw SettingsError("CLIP geometry '" + spec + "': '" + item +
                          "' is not key=value with a key of resnet, image, patch, width, "
                          "layers, text-width, text-layers, embed, context");
    const std::string value = item.substr(eq + 1);
    std::size_t used = 0;
    long long number = 0;
    try {
      number = std::stoll(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != value.size() || value.empty() || number < 1 || number > 100000)
      throw SettingsError("CLIP geometry '" + spec + "': " + key +
                          " must be a positive integer, not '" + value + "'");
    *it->second = number;
  }
  g.text.embed_dim = g.vision.embed_dim;
  if (g.vision.resnet()) return checked_resnet(spec, g);
  if (g.vision.image_size % g.vision.patch_size != 0)
    throw SettingsError("CLIP geometry '" + spec + "': image size " +
                        std::to_string(g.vision.image_size) + " is not a multiple of patch size " +
                        std::to_string(g.vision.patch_size));
  if (g.text.context_length < 8)
    throw SettingsError("CLIP geometry '" + spec + "': context must be at least 8 tokens");
  // Checkpoints do not store head counts; loading infers width / 64, so use the same rule here.
  g.vision.heads = heads_for(g.vision.width);
  g.text.heads = heads_for(g.text.width);
  for (int64_t width : {g.vision.width, g.text.width})
    if (width % 64 != 0)
      throw SettingsError("CLIP geometry '" + spec +
                          "': widths must be multiples of 64 "
                          "(heads are width / 64, as checkpoints assume), not " +
                          std::to_string(width));
  return g;
}

std::string geometry_text(const ModelGeometry& g) {
  std::ostringstream out;
  if (g.vision.resnet()) {
    const auto& b = g.vision.stage_blocks;
    out << "resnet=" << b[0] << "-" << b[1] << "-" << b[2] << "-" << b[3]
        << ",image=" << g.vision.image_size << ",width=" << g.vision.width
        << ",text-width=" << g.text.width << ",text-layers=" << g.text.layers
        << ",embed=" << g.vision.embed_dim << ",context=" << g.text.context_length;
    return out.str();
  }
  out << "image=" << g.vision.image_size << ",patch=" << g.vision.patch_size
      << ",width=" << g.vision.width << ",layers=" << g.vision.layers
      << ",text-width=" << g.text.width << ",text-layers=" << g.text.layers
      << ",embed=" << g.vision.embed_dim << ",context=" << g.text.context_length;
  return out.str();
}

TensorMap openai_tensors(const ClipModelImpl& model) {
  TensorMap out;
  for (const auto& item : model.named_parameters(/*recurse=*/true))
    out[openai_name_for(item.key())] =
        item.value().detach().to(at::kCPU, at::kFloat).contiguous().clone();
  // The ResNet tower's BatchNorm statistics; not its integer batch counters.
  for (const auto& item : model.named_buffers(/*recurse=*/true))
    if (at::isFloatingType(item.value().scalar_type()))
      out[openai_name_for(item.key())] =
          item.value().detach().to(at::kCPU, at::kFloat).contiguous().clone();
  return out;
}

}  // namespace hesp::clip

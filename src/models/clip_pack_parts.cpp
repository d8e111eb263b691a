// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/clip_pack_parts.h"

#include <nlohmann/json.hpp>

#include "clip/clip_init.h"
#include "clip/clip_model.h"
#include "hesp/error.h"

namespace hesp::models {

nlohmann::json clip_input_manifest(int image_size, double face_margin) {
  // OpenAI CLIP's preprocessing constants, scaled from [0, 1] to the 0-255 units manifests use.
  constexpr double kMean[3] = {0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255};
  constexpr double kStd[3] = {0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255};
  return {{"size", image_size},
          {"mean", {kMean[0], kMean[1], kMean[2]}},
          {"std", {kStd[0], kStd[1], kStd[2]}},
          {"face_margin", face_margin}};
}

nlohmann::json clip_architecture_manifest(const clip::ModelGeometry& g) {
  nlohmann::json a = {
      {"geometry", clip::geometry_text(g)}, {"image_size", g.vision.image_size},
      {"vision_width", g.vision.width},     {"text_width", g.text.width},
      {"text_layers", g.text.layers},       {"context_length", g.text.context_length},
      {"vocab_size", g.text.vocab_size},    {"embed_dim", g.vision.embed_dim}};
  // What tells the two image towers apart: blocks per ResNet stage and the attention pool's
  // heads, or the ViT's patch size and layer count.
  if (g.vision.resnet()) {
    a["type"] = "openai-clip-resnet";
    a["vision_layers"] = g.vision.stage_blocks;
    a["vision_heads"] = g.vision.heads;
  } else {
    a["type"] = "openai-clip-vit";
    a["patch_size"] = g.vision.patch_size;
    a["vision_layers"] = g.vision.layers;
  }
  return a;
}

DType clip_weight_dtype(at::ScalarType type, const std::string& name, const std::string& source) {
  switch (type) {
    case at::kFloat:
      return DType::kF32;
    case at::kHalf:
      return DType::kF16;
    case at::kBFloat16:
      return DType::kBF16;
    case at::kDouble:
      return DType::kF64;
    default:
      throw CorruptFileError("'" + source + "': tensor '" + name + "' holds " +
                             std::string(c10::toString(type)) + ", expected floating point values");
  }
}

}  // namespace hesp::models

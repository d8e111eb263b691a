// SPDX-License-Identifier: LGPL-2.1-or-later
// A tiny CLIP with random weights written as a clip-weights pack (what read_checkpoint_tensors
// and the training entry points take as CLIP weights), and the geometries the training tests
// make it in.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "clip/clip_init.h"
#include "hesp/model_pack.h"

namespace hesp::test {

// 32 px images in 16 px patches, one layer of width 64 in each tower, 32-wide embeddings.
constexpr const char* kTinyClipGeometry =
    "image=32,patch=16,width=64,layers=1,text-width=64,text-layers=1,embed=32,context=32";
// The same sizes with OpenAI's ResNet image tower (one bottleneck per stage).
constexpr const char* kTinyResNetClipGeometry =
    "resnet=1-1-1-1,image=32,width=16,text-width=64,text-layers=1,embed=32,context=32";

// A random CLIP of `geometry` (seed 5) written to `path` as a pack of its OpenAI-named tensors,
// each under `prefix` ("clip." is where a pack's CLIP weights are looked for; another prefix makes
// a pack without them).
inline void write_tiny_clip_pack(const std::string& path, const std::string& geometry,
                                 const std::string& prefix = "clip.") {
  const auto model = hesp::clip::random_clip_model(hesp::clip::parse_geometry(geometry), 5);
  const hesp::clip::TensorMap tensors = hesp::clip::openai_tensors(*model);
  std::vector<hesp::TensorInfo> infos;
  for (const auto& [name, t] : tensors) {
    hesp::TensorInfo info;
    info.name = prefix + name;
    info.dtype = hesp::DType::kF32;
    info.shape.assign(t.sizes().begin(), t.sizes().end());
    info.data = t.data_ptr();
    info.nbytes = t.nbytes();
    infos.push_back(info);
  }
  const nlohmann::json manifest = {{"format_version", 1},
                                   {"kind", "clip-weights"},
                                   {"name", "tiny"},
                                   {"classes", {"none"}},
                                   {"architecture", {{"type", "openai-clip-vit"}}},
                                   {"input", {{"size", 32}}},
                                   {"frames_per_clip", 1},
                                   {"open_set", {{"score", "max_logit"}, {"unknown_threshold", 0}}},
                                   {"provenance", {{"source", "random, seed 5"}}}};
  hesp::write_pack(path, manifest, infos);
}

}  // namespace hesp::test

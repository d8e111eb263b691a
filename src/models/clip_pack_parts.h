// SPDX-License-Identifier: LGPL-2.1-or-later
// What every pack kind built on a CLIP model writes the same way (clip-zeroshot, emoclip, hesp):
// the manifest's "input" object, the description of the CLIP geometry, and the dtype each CLIP
// weight is stored in.
#pragma once

#include <c10/core/ScalarType.h>

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "hesp/model_pack.h"

namespace hesp::clip {
struct ModelGeometry;
}

namespace hesp::models {

// The manifest's "input" object: the side CLIP takes, CLIP's published per-channel normalisation
// in 0-255 units, and the face margin the crops should have.
nlohmann::json clip_input_manifest(int image_size, double face_margin);

// The CLIP model's geometry as manifests describe it: "type" "openai-clip-vit" (with the geometry
// string clip::parse_geometry reads) or "openai-clip-resnet" (with "vision_layers" the bottlenecks
// per stage and the attention pool's "vision_heads"), and each size on its own.
nlohmann::json clip_architecture_manifest(const clip::ModelGeometry& geometry);

// The pack dtype a floating-point CLIP weight keeps (F32, F16, BF16, F64). Throws
// CorruptFileError naming `source` and the tensor for any other type.
DType clip_weight_dtype(at::ScalarType type, const std::string& name, const std::string& source);

}  // namespace hesp::models

// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading CLIP weights: OpenAI's released .pt files (TorchScript archives, used only as
// containers of named tensors) and torch.save'd state dicts with the same names.
#pragma once

#include <map>
#include <string>

#include "clip/clip_model.h"

namespace hesp::clip {

// Named tensors as stored (fp16, bf16, fp32 or fp64).
using TensorMap = std::map<std::string, at::Tensor>;

// Reads every parameter and buffer of a TorchScript archive, or the tensors of a torch.save'd
// dict ({name: tensor}, or such a dict under "state_dict"). Throws FileNotFoundError, or
// CorruptFileError when the file is neither.
TensorMap read_checkpoint_tensors(const std::string& path);

// The image tower the tensor names imply: ResNet when there are "visual.layer1.*" or
// "visual.attnpool.*" tensors, ViT otherwise.
VisionTower vision_tower(const TensorMap& tensors);

// The geometry the tensor shapes imply (OpenAI names), for either image tower, derived as OpenAI's
// build_model derives it. `source` names the file in errors. Throws CorruptFileError naming the
// tensor when one needed to tell is missing or has an impossible shape, or when the file mixes
// the two towers.
ModelGeometry infer_geometry(const TensorMap& tensors, const std::string& source);

// Where an OpenAI checkpoint name lives in ClipModel, and back. The only place the two naming
// schemes meet: the text tower's tensors sit at the top level in OpenAI's files.
std::string model_name_for(const std::string& openai_name);
std::string openai_name_for(const std::string& model_name);

// A model with the checkpoint's weights in fp32, in eval mode, gradients off (BatchNorm layers of a
// ResNet tower use their stored statistics). Throws CorruptFileError naming the tensor and the
// expected shape when one is missing or odd, and naming tensors the architecture has no place for.
ClipModel build_model(const TensorMap& tensors, const std::string& source);

// read_checkpoint_tensors + build_model.
ClipModel load_clip_checkpoint(const std::string& path);

}  // namespace hesp::clip

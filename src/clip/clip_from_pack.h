// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP weights stored in a hesp model pack (kind clip-zeroshot): the OpenAI tensor names with a
// "clip." prefix, in the checkpoint's own dtypes. read_checkpoint_tensors hands such files here,
// so ClipEncoder::load accepts a pack wherever it accepts a .pt file and the OpenAI-name to
// module mapping stays in clip_checkpoint.cpp alone.
#pragma once

#include <string>

#include "clip/clip_checkpoint.h"

namespace hesp::clip {

// The prefix of the CLIP weight tensors inside a pack.
inline constexpr const char* kPackWeightPrefix = "clip.";

// True when the file starts like a safetensors file (8-byte header length, then a JSON object).
// False for zip archives (TorchScript, torch.save) and for files that cannot be read.
bool looks_like_model_pack(const std::string& path);

// The "clip.*" tensors of a pack under their OpenAI names, copied out of the mapping. Throws what
// ModelPack::open throws, and CorruptFileError when the pack holds no CLIP weights or a tensor
// has a dtype that is not floating point.
TensorMap read_pack_clip_tensors(const std::string& path);

}  // namespace hesp::clip

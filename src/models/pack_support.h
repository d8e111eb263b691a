// SPDX-License-Identifier: LGPL-2.1-or-later
// Small pieces every pack kind's loader needs: error messages that name the pack, and a
// tokenizer built from the vocabulary bytes a pack stores.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hesp/tokenizer.h"
#include "util/shape_text.h"

namespace hesp {
class ModelPack;
struct TensorInfo;
}  // namespace hesp

namespace hesp::models {

// "model pack '<path>': <what>".
std::string pack_error(const std::string& path, const std::string& what);

// "[2, 3]".
using util::shape_text;

// The pack's tensor `name`, which must be F32 of the given shape. Throws CorruptFileError naming
// the pack, the tensor, what it is and what was expected (`why` is appended, e.g. " (one
// embedding per class)").
const TensorInfo& f32_tensor(const ModelPack& pack, const std::string& name,
                             const std::vector<std::int64_t>& shape, const std::string& why = "");

// A tokenizer from the vocabulary file's bytes as stored in a pack ("vocab" tensor). Tokenizer
// reads files, so the bytes go through a private temporary file that is removed again. Throws
// CorruptFileError naming the pack when the bytes are not a vocabulary, Error when no temporary
// file can be written.
std::unique_ptr<Tokenizer> tokenizer_from_pack_bytes(const std::vector<unsigned char>& vocab,
                                                     const std::string& pack_path);

}  // namespace hesp::models

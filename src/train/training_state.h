// SPDX-License-Identifier: LGPL-2.1-or-later
// The file side of the trainers' resumable state (--state / --resume): what goes into the archive
// is each trainer's own business, writing and opening it is shared.
#pragma once

#include <torch/serialize/archive.h>

#include <string>

namespace hesp::train {

// Writes the archive to `path` + ".tmp" and renames it to `path`, so that an interrupted save
// leaves the previous state intact. Throws Error naming the file.
void save_training_state(torch::serialize::OutputArchive& archive, const std::string& path);

// Reads the state at `path` into `archive`. Throws FileNotFoundError when there is none (nothing
// to resume) and CorruptFileError when it cannot be read.
void open_training_state(const std::string& path, torch::serialize::InputArchive& archive);

}  // namespace hesp::train

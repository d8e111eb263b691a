// SPDX-License-Identifier: LGPL-2.1-or-later
#include "train/training_state.h"

#include <c10/util/Exception.h>

#include <filesystem>
#include <system_error>

#include "hesp/error.h"

namespace hesp::train {

void save_training_state(torch::serialize::OutputArchive& archive, const std::string& path) {
  const std::string tmp = path + ".tmp";
  try {
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    throw Error("cannot write the training state '" + tmp + "': " + e.what_without_backtrace());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error("cannot move the training state into '" + path + "': " + ec.message());
}

void open_training_state(const std::string& path, torch::serialize::InputArchive& archive) {
  if (!std::filesystem::exists(path))
    throw FileNotFoundError("training state '" + path + "' not found (nothing to resume)");
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw CorruptFileError("training state '" + path +
                           "' cannot be read: " + e.what_without_backtrace());
  }
}

}  // namespace hesp::train

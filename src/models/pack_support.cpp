// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/pack_support.h"

#include <unistd.h>

#include <cstdlib>

#include "hesp/error.h"
#include "hesp/model_pack.h"

namespace hesp::models {

std::string pack_error(const std::string& path, const std::string& what) {
  return "model pack '" + path + "': " + what;
}

const TensorInfo& f32_tensor(const ModelPack& pack, const std::string& name,
                             const std::vector<std::int64_t>& shape, const std::string& why) {
  const TensorInfo& t = pack.tensor(name);
  if (t.dtype != DType::kF32 || t.shape != shape)
    throw CorruptFileError(pack_error(
        pack.path(), "'" + name + "' is " + dtype_name(t.dtype) + " " + shape_text(t.shape) +
                         ", expected F32 " + shape_text(shape) + why));
  return t;
}

std::unique_ptr<Tokenizer> tokenizer_from_pack_bytes(const std::vector<unsigned char>& vocab,
                                                     const std::string& pack_path) {
  const char* tmp = std::getenv("TMPDIR");
  std::string name = std::string(tmp && *tmp ? tmp : "/tmp") + "/hesp-vocab-XXXXXX";
  const int fd = ::mkstemp(name.data());
  if (fd < 0)
    throw Error("cannot create a temporary file for the vocabulary of '" + pack_path + "'");
  std::size_t done = 0;
  while (done < vocab.size()) {
    const ssize_t n = ::write(fd, vocab.data() + done, vocab.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  std::unique_ptr<Tokenizer> tokenizer;
  try {
    if (done != vocab.size()) throw Error("cannot write the vocabulary to '" + name + "'");
    tokenizer = std::make_unique<Tokenizer>(name);
  } catch (const CorruptFileError& e) {
    ::unlink(name.c_str());
    throw CorruptFileError(pack_error(pack_path, std::string("stored vocabulary: ") + e.what()));
  } catch (...) {
    ::unlink(name.c_str());
    throw;
  }
  ::unlink(name.c_str());
  return tokenizer;
}

}  // namespace hesp::models

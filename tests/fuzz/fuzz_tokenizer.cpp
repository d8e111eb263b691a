// SPDX-License-Identifier: LGPL-2.1-or-later
// The CLIP tokenizer on arbitrary bytes (any text a user can type into a prompt, valid UTF-8 or
// not), with the real vocabulary: $HESP_CLIP_VOCAB, else
// $HESP_SHARED_DATA/clip/bpe_simple_vocab_16e6.txt.gz. Every id must be in the vocabulary,
// tokenize() must keep its layout (start token, end token last, padded to the context length),
// decode() must take back what encode() made; raw bytes read as ids must decode or be refused
// with InputError.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "hesp/error.h"
#include "hesp/tokenizer.h"

namespace {

std::unique_ptr<hesp::Tokenizer> tokenizer;

std::string vocabulary_path() {
  if (const char* v = std::getenv("HESP_CLIP_VOCAB"); v && *v) return v;
  if (const char* d = std::getenv("HESP_SHARED_DATA"); d && *d)
    return std::string(d) + "/clip/bpe_simple_vocab_16e6.txt.gz";
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string path = vocabulary_path();
  if (path.empty()) {
    std::fprintf(stderr, "set HESP_CLIP_VOCAB or HESP_SHARED_DATA to find CLIP's vocabulary\n");
    std::exit(2);
  }
  try {
    tokenizer = std::make_unique<hesp::Tokenizer>(path);
  } catch (const hesp::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  constexpr int kVocab = hesp::Tokenizer::kVocabularySize;

  (void)hesp::Tokenizer::clean(text);
  const std::vector<int> ids = tokenizer->encode(text);
  for (int id : ids) HESP_FUZZ_CHECK(id >= 0 && id < kVocab);
  (void)tokenizer->decode(ids);

  const std::vector<int> padded = tokenizer->tokenize(text);
  HESP_FUZZ_CHECK(padded.size() == static_cast<std::size_t>(hesp::Tokenizer::kContextLength));
  HESP_FUZZ_CHECK(padded.front() == hesp::Tokenizer::kStartToken);
  const int context = static_cast<int>(size % 9) + 2;
  const std::vector<int> cut = tokenizer->tokenize(text, context, false);
  HESP_FUZZ_CHECK(cut.size() >= 2 && cut.size() <= static_cast<std::size_t>(context));
  HESP_FUZZ_CHECK(cut.front() == hesp::Tokenizer::kStartToken);
  HESP_FUZZ_CHECK(cut.back() == hesp::Tokenizer::kEndToken);

  // The same bytes as a list of ids, most of them out of range.
  std::vector<int> raw(size / sizeof(int));
  if (!raw.empty()) std::memcpy(raw.data(), data, raw.size() * sizeof(int));
  try {
    (void)tokenizer->decode(raw);
  } catch (const hesp::InputError&) {
  }
  return 0;
}

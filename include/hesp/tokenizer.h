// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP's byte-level BPE tokenizer: text to the token ids the CLIP text encoder reads.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace hesp {

class Tokenizer {
 public:
  static constexpr int kStartToken = 49406;  // <|startoftext|>
  static constexpr int kEndToken = 49407;    // <|endoftext|>
  static constexpr int kContextLength = 77;
  static constexpr int kVocabularySize = 49408;

  // Reads CLIP's vocabulary (bpe_simple_vocab_16e6.txt.gz; a decompressed copy works too).
  // Throws FileNotFoundError when it does not exist, CorruptFileError when it cannot be read or
  // is not that vocabulary.
  explicit Tokenizer(const std::string& vocab_path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // The BPE ids of the text alone: no start/end token, no padding, no length limit.
  std::vector<int> encode(const std::string& text) const;

  // What the CLIP text encoder reads: [start] + ids + [end], cut to context_length with the end
  // token kept last when too long, then padded with 0 up to context_length when pad is true.
  std::vector<int> tokenize(const std::string& text, int context_length = kContextLength,
                            bool pad = true) const;
  std::vector<std::vector<int>> tokenize(const std::vector<std::string>& texts,
                                         int context_length = kContextLength,
                                         bool pad = true) const;

  // Text back from ids (start, end and padding ids are dropped; words end in a space, as in the
  // reference). For inspection only: cleaning (case, whitespace, entities) is not undone.
  std::string decode(const std::vector<int>& ids) const;

  // The cleaning step alone: NFC, HTML unescaping (twice), whitespace collapsed and stripped,
  // lowercase. Exposed so tests and users can see what the BPE step receives.
  static std::string clean(const std::string& text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hesp

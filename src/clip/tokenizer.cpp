// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP's BPE tokenizer. The reference is OpenAI's simple_tokenizer.py; every step below keeps its
// semantics (cleaning order, pre-tokenisation alternatives, merge order, id layout) because the
// text encoder's embeddings are only meaningful for exactly those ids.
#include "hesp/tokenizer.h"

#include <sys/stat.h>
#include <zlib.h>

#include <array>
#include <climits>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "clip/unicode.h"
#include "hesp/error.h"

namespace hesp {

namespace {

// The reference keeps the first 49152 - 256 - 2 merges of the vocabulary file, so that 256 byte
// symbols, their 256 end-of-word forms, the merges and two special tokens make 49408 ids.
constexpr int kMergeCount = Tokenizer::kVocabularySize - 2 * 256 - 2;
constexpr std::size_t kMaxCachedWords = 1 << 16;

constexpr std::u32string_view kStartText = U"<|startoftext|>";
constexpr std::u32string_view kEndText = U"<|endoftext|>";

std::string read_vocabulary(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw FileNotFoundError("CLIP vocabulary '" + path + "' not found");
  if (S_ISDIR(st.st_mode))
    throw CorruptFileError("CLIP vocabulary '" + path + "' is a folder, expected a file");
  gzFile file = gzopen(path.c_str(), "rb");  // reads plain text transparently too
  if (!file) throw CorruptFileError("cannot open CLIP vocabulary '" + path + "'");
  std::string text;
  std::array<char, 1 << 16> chunk;
  int n;
  while ((n = gzread(file, chunk.data(), chunk.size())) > 0) text.append(chunk.data(), n);
  int err = Z_OK;
  const char* message = gzerror(file, &err);
  std::string reason = err != Z_OK ? message : "";
  // gzclose reports a stream that ended mid-way (a truncated download) even when reads did not.
  if (gzclose_r(file) == Z_BUF_ERROR && reason.empty()) reason = "unexpected end of file";
  if (n < 0 || !reason.empty())
    throw CorruptFileError("CLIP vocabulary '" + path + "' is not a readable gzip file (" + reason +
                           ")");
  return text;
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_ascii_space(line[i])) ++i;
    std::size_t j = i;
    while (j < line.size() && !is_ascii_space(line[j])) ++j;
    if (j > i) fields.push_back(line.substr(i, j - i));
    i = j;
  }
  return fields;
}

std::uint64_t pair_key(int a, int b) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
         static_cast<std::uint32_t>(b);
}

// Python's str.strip() and the reference's whitespace_clean (\s+ -> ' ', then strip).
std::u32string collapse_whitespace(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char32_t c : text) {
    if (unicode::is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::u32string clean_text(const std::string& text) {
  std::u32string t = unicode::nfc(unicode::decode_utf8(text));
  // Twice, as the reference does, so doubly escaped text ("&amp;amp;") comes out plain.
  t = unicode::html_unescape(unicode::html_unescape(t));
  return unicode::to_lower(collapse_whitespace(t));
}

// The reference pattern is compiled case-insensitively; after lowercasing, only characters whose
// case fold differs from their lowercase (long s) can still match an ASCII letter differently.
bool matches_ascii(char32_t c, char ascii) {
  return c == static_cast<char32_t>(ascii) || (ascii == 's' && c == 0x017F);
}

// Length of the contraction ('s 't 're 've 'm 'll 'd) at text[i], or 0.
std::size_t contraction_at(const std::u32string& text, std::size_t i) {
  if (text[i] != U'\'') return 0;
  static constexpr const char* kSuffixes[] = {"s", "t", "re", "ve", "m", "ll", "d"};
  for (const char* suffix : kSuffixes) {
    std::size_t k = 0;
    while (suffix[k] && i + 1 + k < text.size() && matches_ascii(text[i + 1 + k], suffix[k])) ++k;
    if (!suffix[k]) return 1 + k;
  }
  return 0;
}

}  // namespace

struct Tokenizer::Impl {
  std::array<int, 256> byte_id{};  // id of each byte as a (non-final) symbol
  std::unordered_map<std::uint64_t, std::pair<int, int>> merges;  // (a, b) -> (rank, merged id)
  std::vector<std::string> id_bytes;  // bytes each id stands for, end of word as ' '
  int start_id = kStartToken;
  int end_id = kEndToken;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int>> cache;

  void load(const std::string& path);
  std::vector<int> bpe(const std::string& piece) const;
  std::vector<int> encode(const std::u32string& cleaned) const;
};

void Tokenizer::Impl::load(const std::string& path) {
  const std::string text = read_vocabulary(path);
  if (!unicode::is_valid_utf8(text))
    throw CorruptFileError("CLIP vocabulary '" + path + "' is not UTF-8 text");

  // The reference's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the
  // other 68 bytes take code points 256, 257, ... in byte order. Ids follow the table's order.
  std::array<int, 256> order{};
  int n = 0;
  std::array<bool, 256> printable{};
  for (int b = 0; b < 256; ++b)
    printable[b] = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  for (int b = 0; b < 256; ++b)
    if (printable[b]) order[n++] = b;
  for (int b = 0; b < 256; ++b)
    if (!printable[b]) order[n++] = b;

  std::unordered_map<std::string, int> encoder;
  encoder.reserve(kVocabularySize * 2);
  std::unordered_map<char32_t, unsigned char> byte_of_symbol;
  int extra = 0;
  for (int i = 0; i < 256; ++i) {
    const int b = order[i];
    const char32_t symbol = printable[b] ? static_cast<char32_t>(b) : 256 + extra++;
    std::string s;
    unicode::append_utf8(s, symbol);
    byte_id[b] = i;
    byte_of_symbol[symbol] = static_cast<unsigned char>(b);
    encoder[s] = i;
    encoder[s + "</w>"] = 256 + i;
  }

  std::size_t pos = text.find('\n');  // the first line is a version header
  if (pos == std::string::npos)
    throw CorruptFileError("CLIP vocabulary '" + path + "' has no merges");
  ++pos;
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(kMergeCount);
  merges.reserve(kMergeCount * 2);
  for (int rank = 0; rank < kMergeCount; ++rank) {
    if (pos >= text.size())
      throw CorruptFileError("CLIP vocabulary '" + path + "' has " + std::to_string(rank) +
                             " merges, expected at least " + std::to_string(kMergeCount));
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    const auto fields = split_fields(line);
    if (fields.size() != 2)
      throw CorruptFileError("CLIP vocabulary '" + path + "', line " + std::to_string(rank + 2) +
                             ": expected two symbols separated by a space");
    pairs.emplace_back(fields[0], fields[1]);
    // Duplicates resolve as in the reference's dicts: the later entry wins.
    encoder[pairs.back().first + pairs.back().second] = 512 + rank;
  }
  for (int rank = 0; rank < kMergeCount; ++rank) {
    const auto& [a, b] = pairs[rank];
    const auto ia = encoder.find(a);
    const auto ib = encoder.find(b);
    // A part that is no symbol can never occur in a word, so its merge can never apply.
    if (ia == encoder.end() || ib == encoder.end()) continue;
    merges[pair_key(ia->second, ib->second)] = {rank, encoder.at(a + b)};
  }

  // What each id stands for, for decode(): the symbol's characters mapped back to bytes.
  id_bytes.assign(kVocabularySize, std::string());
  for (const auto& [symbol, id] : encoder) {
    std::string_view s = symbol;
    std::string bytes;
    const bool end_of_word = s.size() >= 4 && s.substr(s.size() - 4) == "</w>";
    if (end_of_word) s.remove_suffix(4);
    for (char32_t c : unicode::decode_utf8(s)) {
      const auto it = byte_of_symbol.find(c);
      if (it == byte_of_symbol.end())
        throw CorruptFileError("CLIP vocabulary '" + path + "' has a symbol with a character " +
                               "outside the byte table");
      bytes.push_back(static_cast<char>(it->second));
    }
    if (end_of_word) bytes.push_back(' ');
    id_bytes[id] = std::move(bytes);
  }
  start_id = 512 + kMergeCount;
  end_id = start_id + 1;
}

std::vector<int> Tokenizer::Impl::bpe(const std::string& piece) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    const auto it = cache.find(piece);
    if (it != cache.end()) return it->second;
  }
  std::vector<int> word;
  word.reserve(piece.size());
  for (unsigned char b : piece) word.push_back(byte_id[b]);
  word.back() += 256;  // the last symbol carries the end-of-word mark

  std::vector<int> next;
  while (word.size() > 1) {
    int best_rank = INT_MAX;
    std::pair<int, int> best{};
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = merges.find(pair_key(word[i], word[i + 1]));
      if (it != merges.end() && it->second.first < best_rank) {
        best_rank = it->second.first;
        best = {word[i], word[i + 1]};
      }
    }
    if (best_rank == INT_MAX) break;
    const int merged = merges.at(pair_key(best.first, best.second)).second;
    next.clear();
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == best.first && word[i + 1] == best.second) {
        next.push_back(merged);
        i += 2;
      } else {
        next.push_back(word[i++]);
      }
    }
    word.swap(next);
  }

  std::lock_guard<std::mutex> lock(cache_mutex);
  if (cache.size() >= kMaxCachedWords) cache.clear();
  cache.emplace(piece, word);
  return word;
}

std::vector<int> Tokenizer::Impl::encode(const std::u32string& text) const {
  std::vector<int> ids;
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const char32_t c = text[i];
    if (unicode::is_space(c)) {
      ++i;
      continue;
    }
    if (text.compare(i, kStartText.size(), kStartText) == 0) {
      ids.push_back(start_id);
      i += kStartText.size();
      continue;
    }
    if (text.compare(i, kEndText.size(), kEndText) == 0) {
      ids.push_back(end_id);
      i += kEndText.size();
      continue;
    }
    std::size_t end = i + contraction_at(text, i);
    if (end == i) {
      end = i + 1;
      if (unicode::is_letter(c)) {
        while (end < n && unicode::is_letter(text[end])) ++end;
      } else if (!unicode::is_number(c)) {  // a number is one character on its own
        while (end < n && !unicode::is_space(text[end]) && !unicode::is_letter(text[end]) &&
               !unicode::is_number(text[end]))
          ++end;
      }
    }
    const std::vector<int> piece = bpe(unicode::encode_utf8(text.substr(i, end - i)));
    ids.insert(ids.end(), piece.begin(), piece.end());
    i = end;
  }
  return ids;
}

Tokenizer::Tokenizer(const std::string& vocab_path) : impl_(std::make_unique<Impl>()) {
  impl_->load(vocab_path);
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::string Tokenizer::clean(const std::string& text) {
  return unicode::encode_utf8(clean_text(text));
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
  return impl_->encode(clean_text(text));
}

std::vector<int> Tokenizer::tokenize(const std::string& text, int context_length, bool pad) const {
  if (context_length < 2)
    throw SettingsError("context length " + std::to_string(context_length) +
                        " leaves no room for the start and end tokens");
  std::vector<int> ids;
  ids.reserve(context_length);
  ids.push_back(impl_->start_id);
  const std::vector<int> body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(impl_->end_id);
  if (static_cast<int>(ids.size()) > context_length) {
    ids.resize(context_length);
    ids.back() = impl_->end_id;
  }
  if (pad) ids.resize(context_length, 0);
  return ids;
}

std::vector<std::vector<int>> Tokenizer::tokenize(const std::vector<std::string>& texts,
                                                  int context_length, bool pad) const {
  std::vector<std::vector<int>> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back(tokenize(t, context_length, pad));
  return out;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string bytes;
  for (int id : ids) {
    if (id == impl_->end_id) break;
    if (id == impl_->start_id) continue;
    if (id < 0 || id >= static_cast<int>(impl_->id_bytes.size()))
      throw InputError("token id " + std::to_string(id) + " is outside CLIP's vocabulary");
    bytes += impl_->id_bytes[id];
  }
  // A cut between the bytes of one character leaves partial UTF-8; show it as U+FFFD.
  return unicode::encode_utf8(unicode::decode_utf8(bytes));
}

}  // namespace hesp

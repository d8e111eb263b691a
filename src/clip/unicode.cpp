// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/unicode.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>

namespace hesp::unicode {

namespace {

struct CodeRange {
  char32_t lo;
  char32_t hi;
};
struct CodeMap {
  char32_t from;
  char32_t to;
};
struct LowerRun {
  char32_t lo;
  char32_t hi;
  int stride;
  int delta;
};
struct CodeExpansion {
  char32_t from;
  int length;
  char32_t to[4];
};
struct ClassRange {
  char32_t lo;
  char32_t hi;
  int combining_class;
};
struct Composition {
  char32_t first;
  char32_t second;
  char32_t composite;
};
struct HtmlEntity {
  const char* name;
  char32_t value[2];
};

#include "clip/unicode_tables.inc"

template <std::size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t cp) {
  const CodeRange* end = table + N;
  // First range whose upper end is >= cp; cp is inside when that range also starts at or before.
  const CodeRange* it =
      std::lower_bound(table, end, cp, [](const CodeRange& r, char32_t c) { return r.hi < c; });
  return it != end && it->lo <= cp;
}

template <typename T, std::size_t N>
const T* find_exact(const T (&table)[N], char32_t cp) {
  const T* end = table + N;
  const T* it = std::lower_bound(table, end, cp, [](const T& e, char32_t c) { return e.from < c; });
  return it != end && it->from == cp ? it : nullptr;
}

// Hangul syllables are composed and decomposed arithmetically (Unicode chapter 3.12).
constexpr char32_t kHangulBase = 0xAC00;
constexpr char32_t kJamoL = 0x1100;
constexpr char32_t kJamoV = 0x1161;
constexpr char32_t kJamoT = 0x11A7;
constexpr int kCountL = 19;
constexpr int kCountV = 21;
constexpr int kCountT = 28;
constexpr int kCountN = kCountV * kCountT;
constexpr int kCountS = kCountL * kCountN;

int combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  const ClassRange* end = std::end(kCombiningClass);
  const ClassRange* it = std::lower_bound(std::begin(kCombiningClass), end, cp,
                                          [](const ClassRange& r, char32_t c) { return r.hi < c; });
  return it != end && it->lo <= cp ? it->combining_class : 0;
}

void decompose_into(char32_t cp, std::u32string& out) {
  if (cp >= kHangulBase && cp < kHangulBase + kCountS) {
    const int s = static_cast<int>(cp - kHangulBase);
    out.push_back(kJamoL + s / kCountN);
    out.push_back(kJamoV + (s % kCountN) / kCountT);
    if (s % kCountT != 0) out.push_back(kJamoT + s % kCountT);
    return;
  }
  if (const CodeExpansion* d = find_exact(kDecomposition, cp)) {
    out.append(d->to, d->to + d->length);  // the table holds full (recursive) decompositions
    return;
  }
  out.push_back(cp);
}

// The primary composite of a pair, or 0.
char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kJamoL && a < kJamoL + kCountL && b >= kJamoV && b < kJamoV + kCountV)
    return kHangulBase + ((a - kJamoL) * kCountV + (b - kJamoV)) * kCountT;
  if (a >= kHangulBase && a < kHangulBase + kCountS && (a - kHangulBase) % kCountT == 0 &&
      b > kJamoT && b < kJamoT + kCountT)
    return a + (b - kJamoT);
  const Composition* end = std::end(kComposition);
  const Composition* it = std::lower_bound(
      std::begin(kComposition), end, std::make_pair(a, b),
      [](const Composition& c, const std::pair<char32_t, char32_t>& key) {
        return c.first < key.first || (c.first == key.first && c.second < key.second);
      });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

char32_t lower_simple(char32_t cp) {
  const LowerRun* end = std::end(kLowerRuns);
  const LowerRun* it = std::lower_bound(std::begin(kLowerRuns), end, cp,
                                        [](const LowerRun& r, char32_t c) { return r.hi < c; });
  if (it == end || it->lo > cp || (cp - it->lo) % it->stride != 0) return cp;
  return static_cast<char32_t>(static_cast<std::int64_t>(cp) + it->delta);
}

bool is_case_ignorable(char32_t cp) { return in_ranges(kCaseIgnorableRanges, cp); }
bool is_cased(char32_t cp) { return in_ranges(kCasedRanges, cp); }

// Python lowers U+03A3 to final sigma when a cased character precedes it and none follows
// (case-ignorable characters in between do not count).
bool sigma_is_final(std::u32string_view text, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && is_case_ignorable(text[j - 1])) --j;
  if (j == 0 || !is_cased(text[j - 1])) return false;
  std::size_t k = i + 1;
  while (k < text.size() && is_case_ignorable(text[k])) ++k;
  return k == text.size() || !is_cased(text[k]);
}

const HtmlEntity* find_entity(const std::string& name) {
  const HtmlEntity* end = std::end(kHtmlEntities);
  const HtmlEntity* it = std::lower_bound(
      std::begin(kHtmlEntities), end, name,
      [](const HtmlEntity& e, const std::string& n) { return n.compare(e.name) > 0; });
  return it != end && name == it->name ? it : nullptr;
}

void append_entity(const HtmlEntity& e, std::u32string& out) {
  out.push_back(e.value[0]);
  if (e.value[1]) out.push_back(e.value[1]);
}

void append_numeric_reference(std::uint32_t number, std::u32string& out) {
  if (const CodeMap* m = find_exact(kHtmlInvalidCharrefs, number)) {
    out.push_back(m->to);
  } else if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
    out.push_back(0xFFFD);
  } else if (!in_ranges(kHtmlDroppedCodepoints, number)) {
    out.push_back(number);
  }
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char32_t c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_value(char32_t c) {
  if (is_digit(c)) return static_cast<int>(c - '0');
  return static_cast<int>((c | 0x20) - 'a' + 10);
}

// Characters that end an entity name in Python's pattern [^\t\n\f <&#;].
bool ends_entity_name(char32_t c) {
  return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' ||
         c == ';';
}

// Tries to replace the reference starting at text[amp] == '&'. Returns the index after what it
// consumed, or amp when nothing there is a reference.
std::size_t unescape_at(std::u32string_view text, std::size_t amp, std::u32string& out) {
  const std::size_t n = text.size();
  std::size_t i = amp + 1;
  if (i < n && text[i] == '#') {
    ++i;
    int base = 10;
    if (i < n && (text[i] == 'x' || text[i] == 'X') && i + 1 < n && is_hex_digit(text[i + 1])) {
      base = 16;
      ++i;
    } else if (i >= n || !is_digit(text[i])) {
      return amp;
    }
    // Saturate: any value past U+10FFFF gets the same replacement, however large.
    std::uint64_t number = 0;
    while (i < n && (base == 16 ? is_hex_digit(text[i]) : is_digit(text[i]))) {
      number = std::min<std::uint64_t>(number * base + hex_value(text[i]), 0x7FFFFFFF);
      ++i;
    }
    if (i < n && text[i] == ';') ++i;
    append_numeric_reference(static_cast<std::uint32_t>(number), out);
    return i;
  }
  std::size_t end = i;
  while (end < n && end - i < 32 && !ends_entity_name(text[end])) ++end;
  if (end == i) return amp;
  if (end < n && text[end] == ';') ++end;
  // Entity names are ASCII; a non-ASCII character becomes a byte no name contains, so lookups
  // of anything that includes it fail while shorter prefixes can still match.
  std::string name;
  for (std::size_t k = i; k < end; ++k) name.push_back(text[k] < 0x80 ? char(text[k]) : '\x01');
  if (const HtmlEntity* e = find_entity(name)) {
    append_entity(*e, out);
    return end;
  }
  for (std::size_t len = name.size() - 1; len >= 2; --len) {
    if (const HtmlEntity* e = find_entity(name.substr(0, len))) {
      append_entity(*e, out);
      out.append(text.substr(i + len, end - i - len));
      return end;
    }
  }
  return amp;
}

}  // namespace

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

namespace {

// Decodes one well-formed sequence at s[i]; on an ill-formed one returns U+FFFD and consumes its
// maximal valid prefix (at least one byte), the Unicode "maximal subpart" practice Python follows.
char32_t decode_one(std::string_view s, std::size_t& i, bool& valid) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  valid = true;
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int length;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    ++i;
    valid = false;
    return 0xFFFD;
  }
  std::size_t k = i + 1;
  for (int n = 1; n < length; ++n, ++k) {
    const unsigned char min = n == 1 ? lo : 0x80;
    const unsigned char max = n == 1 ? hi : 0xBF;
    if (k >= s.size() || byte(k) < min || byte(k) > max) {
      i = k;
      valid = false;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  i = k;
  return cp;
}

}  // namespace

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  bool valid;
  for (std::size_t i = 0; i < text.size();) out.push_back(decode_one(text, i, valid));
  return out;
}

bool is_valid_utf8(std::string_view text) {
  bool valid = true;
  for (std::size_t i = 0; i < text.size() && valid;) decode_one(text, i, valid);
  return valid;
}

bool is_letter(char32_t cp) { return in_ranges(kLetterRanges, cp); }
bool is_number(char32_t cp) { return in_ranges(kNumberRanges, cp); }
bool is_space(char32_t cp) { return in_ranges(kSpaceRanges, cp); }

std::u32string to_lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp == 0x03A3) {
      out.push_back(sigma_is_final(text, i) ? 0x03C2 : 0x03C3);
    } else if (const CodeExpansion* m = find_exact(kLowerMulti, cp)) {
      out.append(m->to, m->to + m->length);
    } else {
      out.push_back(lower_simple(cp));
    }
  }
  return out;
}

std::u32string nfc(std::u32string_view text) {
  // Nothing below U+0300 changes under NFC, which covers plain ASCII and Latin-1 prompts.
  if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; }))
    return std::u32string(text);

  std::u32string d;
  d.reserve(text.size() + 8);
  for (char32_t cp : text) decompose_into(cp, d);

  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (std::size_t i = 1; i < d.size(); ++i) {
    const int cc = combining_class(d[i]);
    if (cc == 0) continue;
    std::size_t j = i;
    while (j > 0 && combining_class(d[j - 1]) > cc) {
      std::swap(d[j - 1], d[j]);
      --j;
    }
  }

  std::u32string out;
  out.reserve(d.size());
  std::size_t starter = std::u32string::npos;
  int last_class = 0;
  for (char32_t cp : d) {
    const int cc = combining_class(cp);
    if (starter != std::u32string::npos) {
      // cp is blocked from the starter by an uncomposed character in between whose class is 0
      // or not lower than cp's.
      const bool adjacent = out.size() == starter + 1;
      if (adjacent || (last_class != 0 && last_class < cc)) {
        if (const char32_t composite = compose_pair(out[starter], cp)) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (cc == 0) starter = out.size();
    last_class = cc;
    out.push_back(cp);
  }
  return out;
}

std::u32string html_unescape(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
  std::u32string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '&') {
      out.push_back(text[i++]);
      continue;
    }
    const std::size_t next = unescape_at(text, i, out);
    if (next == i) {
      out.push_back('&');
      ++i;
    } else {
      i = next;
    }
  }
  return out;
}

}  // namespace hesp::unicode

// SPDX-License-Identifier: LGPL-2.1-or-later
// The Unicode and HTML text handling that CLIP's tokenizer does in Python, redone on UTF-32 strings
// so the C++ tokenizer sees exactly the characters the reference tokenizer sees. The facts
// (classes, case mapping, normalisation data, HTML entities) come from Python itself through
// gen_unicode_tables.py, so "letter" or "lowercase" mean what they mean to the reference.
#pragma once

#include <string>
#include <string_view>

namespace hesp::unicode {

// UTF-8 to code points. Bytes that are not valid UTF-8 become U+FFFD each, as Python's
// errors="replace" would do, so malformed input still tokenizes deterministically.
std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t cp);
// True when the bytes are well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view text);

bool is_letter(char32_t cp);  // general category L*
bool is_number(char32_t cp);  // general category N*
bool is_space(char32_t cp);   // Python's str.isspace()

// Python's str.lower(), including the multi-character mappings (U+0130) and the final-sigma rule.
std::u32string to_lower(std::u32string_view text);

// Canonical composition (Unicode NFC).
std::u32string nfc(std::u32string_view text);

// Python's html.unescape(): named (HTML5 table, with the legacy forms without ';'), decimal and
// hexadecimal character references, with HTML's replacements for invalid numbers.
std::u32string html_unescape(std::u32string_view text);

}  // namespace hesp::unicode

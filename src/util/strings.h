// SPDX-License-Identifier: LGPL-2.1-or-later
// Small ASCII string helpers for parsing names and lists in option strings and text files
// (internal to the core). Header-only; depends on nothing else here.
#pragma once

#include <cctype>
#include <string>

namespace hesp::util {

// ASCII lower case; other bytes (UTF-8 included) stay as they are.
inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Without leading and trailing spaces and tabs.
inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace hesp::util

// SPDX-License-Identifier: LGPL-2.1-or-later
// A tensor shape as error messages write it: "[a, b, c]".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hesp::util {

inline std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace hesp::util

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/error.h"

namespace hesp {

namespace {
void append_nested(const std::exception& e, std::string& out) {
  if (!out.empty()) out += ": ";
  out += e.what();
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    append_nested(inner, out);
  } catch (...) {
    out += ": unknown error";
  }
}
}  // namespace

std::string describe(const std::exception& e) {
  std::string out;
  append_nested(e, out);
  return out;
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// Error-message checks: what a call throws, as text.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <string>

namespace hesp::test {

// The message of the E that `call()` throws. Records a test failure and gives "" when it throws
// another type or nothing.
template <typename E, typename F>
std::string error_message(F&& call) {
  try {
    call();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace hesp::test

// SPDX-License-Identifier: LGPL-2.1-or-later
// A fixture base whose tests share one expensive object, made once per suite from a data file.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "test_data.h"

namespace hesp::test {

// Suite (the fixture itself) provides, publicly, `static std::string required_file()` and
// `static std::unique_ptr<T> make()`. shared_ is made before the suite's first test when the file
// exists; every test skips when it does not.
template <class Suite, class T>
class SharedPerSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (file_exists(Suite::required_file())) shared_ = Suite::make().release();
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }
  void SetUp() override { HESP_REQUIRE_FILE(Suite::required_file()); }

  static inline T* shared_ = nullptr;
};

}  // namespace hesp::test

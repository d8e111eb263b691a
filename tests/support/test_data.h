// SPDX-License-Identifier: LGPL-2.1-or-later
// Where tests find their data. Downloaded data (npm package, Debian movie, default model pack)
// lives in HESP_CACHE_DIR, ../shared data in HESP_SHARED_DATA; both are set by meson test.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace hesp::test {

inline std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

inline bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

inline std::string cache_path(const std::string& rel) {
  return env_or("HESP_CACHE_DIR", "") + "/" + rel;
}

inline std::string shared_path(const std::string& rel) {
  return env_or("HESP_SHARED_DATA", "") + "/" + rel;
}

inline std::string source_path(const std::string& rel) {
  return env_or("HESP_SOURCE_DIR", ".") + "/" + rel;
}

// The npm package's demo photo sampleN.jpg.
inline std::string demo_photo(int n) {
  return cache_path("npm/face-api-1.7.15/demo/sample" + std::to_string(n) + ".jpg");
}

inline std::string kphotoalbum_movie() { return cache_path("kphotoalbum/movie.avi"); }

}  // namespace hesp::test

// Skips the current test (meson counts it as skipped) when a data file is missing.
#define HESP_REQUIRE_FILE(path)                                                             \
  do {                                                                                      \
    if (!::hesp::test::file_exists(path))                                                   \
      GTEST_SKIP() << "test data " << (path) << " is missing (run scripts/setup.sh first)"; \
  } while (0)

// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs the built `hesp` tool as a user would, from a test, and collects its output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "test_data.h"

namespace hesp::test {

inline std::string hesp_exe() { return env_or("HESP_BUILD_DIR", ".") + "/tools/hesp/hesp"; }

struct HespRun {
  int status = -1;
  std::string out;  // stdout and stderr together
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline HespRun run_hesp(const std::vector<std::string>& args) {
  std::string cmd = shell_quote(hesp_exe());
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>&1";
  HespRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace hesp::test

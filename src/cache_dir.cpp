// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/cache_dir.h"

#include <cstdlib>

#include "hesp_config.h"

namespace hesp {

std::string cache_dir() {
  const char* env = std::getenv("HESP_CACHE_DIR");
  if (env && *env) return env;
  // Configured at build time (meson option cache_dir); empty for builds that run as other users
  // (packages), which use the runner's XDG cache folder.
  if (*HESP_CACHE_DIR) return HESP_CACHE_DIR;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/hesp";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/hesp";
}

}  // namespace hesp

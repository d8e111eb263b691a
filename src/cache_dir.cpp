// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/cache_dir.h"

#include <cstdlib>

#include "hesp_config.h"

namespace hesp {

std::string cache_dir() {
  const char* env = std::getenv("HESP_CACHE_DIR");
  return env && *env ? env : HESP_CACHE_DIR;
}

}  // namespace hesp

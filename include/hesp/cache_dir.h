// SPDX-License-Identifier: LGPL-2.1-or-later
// The hesp cache folder: downloaded packages, the default model pack, the demo video.
#pragma once

#include <string>

namespace hesp {

// $HESP_CACHE_DIR when it is set and not empty (the setup script and the tests use it), else the
// folder configured at build time (meson option cache_dir), else $XDG_CACHE_HOME/hesp or
// ~/.cache/hesp of the user running it.
std::string cache_dir();

}  // namespace hesp

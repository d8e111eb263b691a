// SPDX-License-Identifier: LGPL-2.1-or-later
// The parts of a pack's manifest that decide how faces are cut for it, read by the subcommands
// that build hespclipbatch ! hespinfer pipelines (run, bench live).
#pragma once

#include <string>

namespace hesp::cli {

struct PackInput {
  int size = 112;
  double margin = 0.0;
  std::string alignment = "none";  // input.alignment: none, landmarks or eyes
  int frames_per_clip = 8;
};

// Throws what ModelPack::open throws for a missing or broken pack.
PackInput read_pack_input(const std::string& path);

// A value quoted for a gst-launch description.
inline std::string quote(const std::string& s) { return "\"" + s + "\""; }

}  // namespace hesp::cli

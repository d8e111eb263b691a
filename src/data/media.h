// SPDX-License-Identifier: LGPL-2.1-or-later
// Internal helpers of the data module: what a media path is and how many frames it holds, and
// decoding the frames a clip needs.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hesp/dataset.h"

namespace hesp::data::detail {

struct MediaInfo {
  MediaKind kind = MediaKind::kUnknown;
  int frames = 0;
};

// Throws FileNotFoundError (path missing) or CorruptFileError (empty folder, undecodable video,
// neither folder nor file). Messages name the path but carry no file:line prefix.
MediaInfo probe_media(const std::string& path);

// Frames at `indices`; entries past the end are left empty (width 0). `decoded` (optional)
// receives the number of frames: exact for folders and for videos that ended before the largest
// index, otherwise a lower bound (decoding stops at the largest index).
std::vector<RgbFrame> read_frames_partial(const std::string& path, const std::vector<int>& indices,
                                          int* decoded);

// Uniform integer in [0, n) and float in [0, 1) from raw generator output (portable).
inline int uniform_int(std::mt19937& rng, int n) {
  return static_cast<int>((static_cast<std::uint64_t>(rng()) * static_cast<std::uint64_t>(n)) >>
                          32);
}
inline double uniform01(std::mt19937& rng) { return (rng() >> 8) * (1.0 / 16777216.0); }

}  // namespace hesp::data::detail

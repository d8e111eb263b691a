// SPDX-License-Identifier: LGPL-2.1-or-later
// The demo video of `hesp demo-video`: its shots (one pan-zoom sequence per photo, hard cuts
// between them) and its making. `hesp bench tracking` films the same shots and projects the
// photos' ground-truth faces through the same camera.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hesp/pan_zoom.h"

namespace hesp::cli {

struct DemoVideoOptions {
  std::string photos_dir;  // empty = the npm package's demo folder in the cache folder
  std::string output;      // empty = demo/demo.mp4 in the cache folder
  int width = 1280;
  int height = 720;
  int fps = 25;
  double seconds_per_photo = 3.0;
  int shots = 6;  // the first n photos, sample1.jpg ... sample<n>.jpg
};

constexpr int kDemoPhotos = 6;

// The photo file name of shot i (0-based): sample<i+1>.jpg.
std::string demo_photo_name(int shot);

// The photos folder the options name (the default one when empty).
std::string demo_photos_dir(const DemoVideoOptions& options);

// One sequence per shot, in order; reading every photo first (throws FileNotFoundError /
// CorruptFileError).
std::vector<std::unique_ptr<PanZoomSequence>> demo_shots(const DemoVideoOptions& options);

// Encodes the shots into an H.264 MP4 at options.output (or the default path); returns the path.
std::string make_demo_video(DemoVideoOptions options);

}  // namespace hesp::cli

// SPDX-License-Identifier: LGPL-2.1-or-later
// Moving-camera sequences made from a still photo: a window that pans and zooms across the photo,
// resampled to a fixed output size. Real faces with real motion, for tests and the demo video.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hesp/image.h"

namespace hesp {

struct PanZoomPath {
  // Window centre (fractions of the photo size) and window width (fraction of the photo width)
  // at the first and last frame; positions in between are interpolated smoothly.
  float start_cx = 0.45f, start_cy = 0.4f, start_width = 0.9f;
  float end_cx = 0.55f, end_cy = 0.45f, end_width = 0.7f;
};

class PanZoomSequence {
 public:
  // Reads the photo (any format OpenCV decodes); throws FileNotFoundError / CorruptFileError.
  PanZoomSequence(const std::string& photo_path, int width, int height, int n_frames,
                  PanZoomPath path = {});
  ~PanZoomSequence();
  PanZoomSequence(const PanZoomSequence&) = delete;
  PanZoomSequence& operator=(const PanZoomSequence&) = delete;

  int width() const;
  int height() const;
  int n_frames() const;
  int photo_width() const;
  int photo_height() const;
  // Writes frame `index` as width*height*3 RGB bytes.
  void render(int index, std::uint8_t* rgb) const;
  // The part of the photo that frame `index` shows, in photo pixels (its aspect ratio is the
  // frame's): what is known of the camera, so boxes drawn on the photo map into every frame.
  Box window(int index) const;
  // A box in photo pixels where it lies in frame `index`, in frame pixels (not clipped).
  Box to_frame(int index, const Box& photo_box) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/clip_frames.h"

#include <cstring>
#include <opencv2/imgproc.hpp>
#include <string>

#include "hesp/error.h"

namespace hesp::models {

std::int64_t count_clip_frames(const std::vector<ClipView>& clips) {
  std::int64_t count = 0;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const ClipView& c = clips[i];
    if (!c.rgb || c.n_frames < 1 || c.crop_size < 1)
      throw InputError("clip " + std::to_string(i) + " is empty (" + std::to_string(c.n_frames) +
                       " frames of " + std::to_string(c.crop_size) + " px)");
    count += c.n_frames;
  }
  return count;
}

PackedFrames pack_clip_frames(const std::vector<ClipView>& clips, int size) {
  PackedFrames out;
  out.count = count_clip_frames(clips);
  const std::size_t frame_bytes = static_cast<std::size_t>(size) * size * 3;
  out.rgb.resize(static_cast<std::size_t>(out.count) * frame_bytes);
  std::size_t at = 0;
  for (const ClipView& c : clips) {
    const std::size_t src_bytes = static_cast<std::size_t>(c.crop_size) * c.crop_size * 3;
    for (int f = 0; f < c.n_frames; ++f, at += frame_bytes) {
      const std::uint8_t* src = c.rgb + f * src_bytes;
      if (c.crop_size == size) {
        std::memcpy(out.rgb.data() + at, src, frame_bytes);
      } else {
        const cv::Mat in(c.crop_size, c.crop_size, CV_8UC3, const_cast<std::uint8_t*>(src));
        cv::Mat resized(size, size, CV_8UC3, out.rgb.data() + at);
        cv::resize(in, resized, resized.size(), 0, 0,
                   c.crop_size > size ? cv::INTER_AREA : cv::INTER_LINEAR);
      }
    }
  }
  return out;
}

}  // namespace hesp::models

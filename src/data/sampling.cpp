// SPDX-License-Identifier: LGPL-2.1-or-later
// Segment sampling, clip-consistent augmentation and clip loading.
#include <algorithm>
#include <cmath>
#include <exception>
#include <opencv2/imgproc.hpp>

#include "data/media.h"
#include "hesp/dataset.h"
#include "hesp/error.h"

namespace hesp::data {

using detail::uniform01;
using detail::uniform_int;

std::vector<int> sample_indices(int num_frames, int num_segments, SamplingMode mode,
                                std::mt19937& rng, ShortClipPolicy policy) {
  if (num_frames < 1)
    throw InputError("cannot sample from a clip of " + std::to_string(num_frames) + " frames");
  if (num_segments < 1)
    throw InputError("cannot cut a clip into " + std::to_string(num_segments) + " segments");
  const std::int64_t n = num_frames, t = num_segments;
  std::vector<int> out(static_cast<std::size_t>(num_segments));
  for (std::int64_t i = 0; i < t; ++i) {
    int index;
    if (n < t) {
      // Segments shorter than a frame: nothing to draw from.
      index = policy == ShortClipPolicy::kRepeatLast ? static_cast<int>(std::min(i, n - 1))
                                                     : static_cast<int>((2 * i + 1) * n / (2 * t));
    } else if (mode == SamplingMode::kTrain) {
      const std::int64_t lo = i * n / t, hi = (i + 1) * n / t;  // hi > lo since n >= t
      index = static_cast<int>(lo + uniform_int(rng, static_cast<int>(hi - lo)));
    } else {
      index = static_cast<int>((2 * i + 1) * n / (2 * t));
    }
    out[static_cast<std::size_t>(i)] = index;
  }
  return out;
}

AugmentParams sample_augment(const AugmentOptions& o, std::mt19937& rng) {
  if (o.size < 1) throw SettingsError("augmentation output size must be positive");
  AugmentParams p;
  p.width = p.height = o.size;
  if (!o.train) return p;
  if (!(o.min_area > 0.f && o.min_area <= o.max_area && o.max_area <= 1.f) ||
      !(o.min_ratio > 0.f && o.min_ratio <= o.max_ratio))
    throw SettingsError(
        "random-resized-crop needs 0 < min_area <= max_area <= 1 and "
        "0 < min_ratio <= max_ratio");
  p.flip = uniform01(rng) < o.flip_probability;
  // torchvision's RandomResizedCrop on the size x size frame: up to 10 draws of area and
  // log-uniform aspect ratio, else the whole frame (whose ratio, 1, is inside any sensible range).
  const double area = static_cast<double>(o.size) * o.size;
  const double log_lo = std::log(o.min_ratio), log_hi = std::log(o.max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * (o.min_area + (o.max_area - o.min_area) * uniform01(rng));
    const double ratio = std::exp(log_lo + (log_hi - log_lo) * uniform01(rng));
    const int w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
    if (w > 0 && w <= o.size && h > 0 && h <= o.size) {
      p.y = uniform_int(rng, o.size - h + 1);
      p.x = uniform_int(rng, o.size - w + 1);
      p.width = w;
      p.height = h;
      return p;
    }
  }
  p.x = p.y = 0;
  p.width = p.height = o.size;
  return p;
}

void augment_frame(const RgbFrame& frame, const AugmentParams& p, int size, std::uint8_t* out) {
  if (frame.width < 1 || frame.height < 1 ||
      frame.rgb.size() != static_cast<std::size_t>(frame.width) * frame.height * 3)
    throw InputError("augment_frame: frame buffer does not match its size");
  if (size < 1 || p.width < 1 || p.height < 1 || p.x < 0 || p.y < 0 || p.x + p.width > size ||
      p.y + p.height > size)
    throw InputError("augment_frame: crop box outside the " + std::to_string(size) + "x" +
                     std::to_string(size) + " frame");
  const cv::Mat src(frame.height, frame.width, CV_8UC3,
                    const_cast<std::uint8_t*>(frame.rgb.data()));
  // The crop box lives in the flipped, size x size resized frame; map it back to source pixels so
  // that one resampling does resize and crop together.
  const double sx = static_cast<double>(frame.width) / size;
  const double sy = static_cast<double>(frame.height) / size;
  const int bx = p.flip ? size - (p.x + p.width) : p.x;
  int x0 = static_cast<int>(std::lround(bx * sx)), y0 = static_cast<int>(std::lround(p.y * sy));
  int x1 = static_cast<int>(std::lround((bx + p.width) * sx));
  int y1 = static_cast<int>(std::lround((p.y + p.height) * sy));
  x0 = std::clamp(x0, 0, frame.width - 1);
  y0 = std::clamp(y0, 0, frame.height - 1);
  x1 = std::clamp(x1, x0 + 1, frame.width);
  y1 = std::clamp(y1, y0 + 1, frame.height);
  const cv::Mat roi = src(cv::Rect(x0, y0, x1 - x0, y1 - y0));
  cv::Mat dst(size, size, CV_8UC3, out);
  // Area averaging when shrinking (no aliasing), bilinear when enlarging.
  const int interp = (roi.cols > size || roi.rows > size) ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::resize(roi, dst, dst.size(), 0, 0, interp);
  if (p.flip) cv::flip(dst, dst, 1);
}

ClipSample load_clip(const AnnotationItem& item, const ClipLoaderOptions& o, std::uint64_t epoch,
                     std::uint64_t index) {
  if (o.num_segments < 1 || o.num_segments > 4096)
    throw SettingsError("clip length " + std::to_string(o.num_segments) +
                        " is out of range (1-4096)");
  std::seed_seq seq{static_cast<std::uint32_t>(o.seed), static_cast<std::uint32_t>(o.seed >> 32),
                    static_cast<std::uint32_t>(epoch),  static_cast<std::uint32_t>(epoch >> 32),
                    static_cast<std::uint32_t>(index),  static_cast<std::uint32_t>(index >> 32)};
  std::mt19937 rng(seq);
  const std::mt19937 start = rng;
  ClipSample clip;
  clip.n_frames = o.num_segments;
  clip.size = o.augment.size;
  clip.label = item.label;
  clip.frame_indices =
      sample_indices(item.frame_count(), o.num_segments, o.mode, rng, o.short_clips);
  int decoded = 0;
  std::vector<RgbFrame> frames;
  try {
    frames = detail::read_frames_partial(item.path, clip.frame_indices, &decoded);
  } catch (const Error&) {
    std::throw_with_nested(InputError(item.source + ":" + std::to_string(item.line) +
                                      ": cannot load '" + item.rel_path + "'"));
  }
  const bool short_read =
      std::any_of(frames.begin(), frames.end(), [](const RgbFrame& f) { return f.width == 0; });
  if (short_read) {
    // The container promised more frames than it holds: sample again from what is there, with
    // the same random draws.
    rng = start;
    clip.frame_indices = sample_indices(decoded, o.num_segments, o.mode, rng, o.short_clips);
    frames = detail::read_frames_partial(item.path, clip.frame_indices, &decoded);
  }
  AugmentOptions aug = o.augment;
  aug.train = o.mode == SamplingMode::kTrain;
  clip.augment = sample_augment(aug, rng);
  const std::size_t frame_bytes = static_cast<std::size_t>(clip.size) * clip.size * 3;
  clip.frames.resize(frame_bytes * static_cast<std::size_t>(clip.n_frames));
  for (int i = 0; i < clip.n_frames; ++i)
    augment_frame(frames[static_cast<std::size_t>(i)], clip.augment, clip.size,
                  clip.frames.data() + frame_bytes * static_cast<std::size_t>(i));
  return clip;
}

}  // namespace hesp::data

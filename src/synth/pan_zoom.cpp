// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/pan_zoom.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "hesp/error.h"

namespace hesp {

struct PanZoomSequence::Impl {
  cv::Mat photo;  // RGB
  int width, height, n_frames;
  PanZoomPath path;
};

PanZoomSequence::PanZoomSequence(const std::string& photo_path, int width, int height, int n_frames,
                                 PanZoomPath path)
    : impl_(std::make_unique<Impl>()) {
  if (width < 2 || height < 2 || n_frames < 1)
    throw SettingsError("pan-zoom sequence needs a size of at least 2x2 and one frame");
  struct stat st {};
  if (::stat(photo_path.c_str(), &st) != 0)
    throw FileNotFoundError("photo '" + photo_path + "' not found");
  cv::Mat bgr = cv::imread(photo_path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw CorruptFileError("'" + photo_path + "' is not a readable image");
  cv::cvtColor(bgr, impl_->photo, cv::COLOR_BGR2RGB);
  impl_->width = width;
  impl_->height = height;
  impl_->n_frames = n_frames;
  impl_->path = path;
}

PanZoomSequence::~PanZoomSequence() = default;
int PanZoomSequence::width() const { return impl_->width; }
int PanZoomSequence::height() const { return impl_->height; }
int PanZoomSequence::n_frames() const { return impl_->n_frames; }
int PanZoomSequence::photo_width() const { return impl_->photo.cols; }
int PanZoomSequence::photo_height() const { return impl_->photo.rows; }

Box PanZoomSequence::window(int index) const {
  const Impl& m = *impl_;
  // Smoothstep easing: the camera accelerates and slows down like a hand-held move.
  const float t = m.n_frames > 1 ? std::clamp(index / float(m.n_frames - 1), 0.f, 1.f) : 0.f;
  const float s = t * t * (3.f - 2.f * t);
  const auto lerp = [s](float a, float b) { return a + (b - a) * s; };
  const float pw = static_cast<float>(m.photo.cols), ph = static_cast<float>(m.photo.rows);
  float win_w = lerp(m.path.start_width, m.path.end_width) * pw;
  float win_h = win_w * m.height / static_cast<float>(m.width);
  if (win_h > ph) {  // keep the output aspect ratio inside the photo
    win_h = ph;
    win_w = win_h * m.width / static_cast<float>(m.height);
  }
  const float cx = std::clamp(lerp(m.path.start_cx, m.path.end_cx) * pw, win_w / 2, pw - win_w / 2);
  const float cy = std::clamp(lerp(m.path.start_cy, m.path.end_cy) * ph, win_h / 2, ph - win_h / 2);
  return Box{cx - win_w / 2, cy - win_h / 2, win_w, win_h};
}

Box PanZoomSequence::to_frame(int index, const Box& photo_box) const {
  const Box w = window(index);
  const float scale = impl_->width / w.width;  // frame pixels per photo pixel
  return Box{(photo_box.x - w.x) * scale, (photo_box.y - w.y) * scale, photo_box.width * scale,
             photo_box.height * scale};
}

void PanZoomSequence::render(int index, std::uint8_t* rgb) const {
  const Impl& m = *impl_;
  const Box w = window(index);
  // Affine map output pixel -> photo pixel, sampled with bilinear interpolation (sub-pixel motion
  // stays smooth, unlike integer crops).
  const float scale = w.width / m.width;
  cv::Mat warp = (cv::Mat_<double>(2, 3) << scale, 0, w.x, 0, scale, w.y);
  cv::Mat out(m.height, m.width, CV_8UC3, rgb);
  cv::warpAffine(m.photo, out, warp, out.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                 cv::BORDER_REPLICATE);
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// FaceRenderer: a frame is laid out part by part, painted back to front on a supersampled canvas,
// then scaled to the output size with the camera's blur, light and noise. The parts are in
// face_parts.h and the files it names.
#include "synth/expression_face.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "synth/face_paint.h"
#include "synth/face_parts.h"
#include "synth/synth_rng.h"

namespace hesp::synth::detail {

FaceRenderer::FaceRenderer(const Identity& identity, const Scene& scene, int size,
                           std::uint64_t seed)
    : id_(identity), scene_(scene), size_(size), ss_(size <= 512 ? 2 : 1) {
  background_ = face::make_background(scene_, size_ * ss_, seed);
  if (scene_.brightness != 1.f || scene_.gradient != 0.f || scene_.tint.r != 1.f ||
      scene_.tint.b != 1.f) {
    light_.create(size_, size_, CV_32FC3);
    const float ca = std::cos(scene_.gradient_angle), sa = std::sin(scene_.gradient_angle);
    for (int y = 0; y < size_; ++y) {
      auto* row = light_.ptr<cv::Vec3f>(y);
      for (int x = 0; x < size_; ++x) {
        const float g =
            scene_.brightness * (1.f + scene_.gradient * ((x / float(size_) - 0.5f) * ca +
                                                          (y / float(size_) - 0.5f) * sa));
        row[x] = cv::Vec3f(g * scene_.tint.r, g * scene_.tint.g, g * scene_.tint.b);
      }
    }
  }
}

face::Frame FaceRenderer::layout(const FaceActions& a, Point drift) const {
  face::Frame f;
  face::Layout parts(id_, scene_, a, static_cast<float>(size_ * ss_), drift, f);
  parts.head();
  parts.body();
  parts.ears();
  parts.hair();
  parts.eyes();
  parts.brows();
  parts.nose();
  parts.mouth();
  parts.cheeks();
  parts.stubble();
  parts.glasses();
  // Canvas pixels -> output pixels for the landmarks.
  for (auto& p : f.lm) {
    p.x = (p.x + 0.5f) / ss_ - 0.5f;
    p.y = (p.y + 0.5f) / ss_ - 0.5f;
  }
  return f;
}

void FaceRenderer::draw(const face::Frame& f, const FaceActions& a, cv::Mat& img) const {
  face::Painter paint(id_, scene_, a, f, img);
  paint.behind_face();
  paint.skin();
  paint.nose();
  paint.eyes();
  paint.brows();
  paint.mouth();
  paint.shading();
  paint.glasses();
  paint.hair();
}

void FaceRenderer::render(const FaceActions& actions, Point drift, std::uint64_t noise_seed,
                          std::uint8_t* rgb_out) const {
  const face::Frame f = layout(actions, drift);
  cv::Mat canvas = background_.clone();
  draw(f, actions, canvas);
  cv::Mat out(size_, size_, CV_8UC3, rgb_out);
  if (ss_ == 1) {
    canvas.copyTo(out);
  } else {
    cv::resize(canvas, out, out.size(), 0, 0, cv::INTER_AREA);
  }
  if (scene_.blur_sigma > 0.f) cv::GaussianBlur(out, out, cv::Size(0, 0), scene_.blur_sigma);
  if (light_.empty() && scene_.noise_sigma <= 0.f) return;
  // Per-sample noise from a counter-based hash seeded by the frame's generator: a sum of four
  // 16-bit uniforms, rescaled, is close enough to Gaussian sensor noise and far cheaper than
  // drawing from mt19937 and Box-Muller for every sample.
  Rng noise(noise_seed, Stream::kNoise);
  const std::uint64_t base = (static_cast<std::uint64_t>(noise.bits()) << 32) | noise.bits();
  std::uint64_t counter = 0;
  const float k = scene_.noise_sigma * std::sqrt(3.f) / 65536.f;
  for (int y = 0; y < size_; ++y) {
    auto* row = out.ptr<cv::Vec3b>(y);
    const cv::Vec3f* lrow = light_.empty() ? nullptr : light_.ptr<cv::Vec3f>(y);
    for (int x = 0; x < size_; ++x) {
      for (int c = 0; c < 3; ++c) {
        float v = row[x][c];
        if (lrow) v *= lrow[x][c];
        if (scene_.noise_sigma > 0.f) {
          const std::uint64_t h = mix64(base + counter++);
          const float sum = float(h & 0xffff) + float((h >> 16) & 0xffff) +
                            float((h >> 32) & 0xffff) + float(h >> 48) - 2.f * 65535.f;
          v += sum * k;
        }
        row[x][c] = cv::saturate_cast<uchar>(v);
      }
    }
  }
}

Landmarks FaceRenderer::landmarks(const FaceActions& actions, Point drift) const {
  return layout(actions, drift).lm;
}

Box FaceRenderer::face_box(const FaceActions& actions, Point drift) const {
  const face::Frame f = layout(actions, drift);
  float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f;
  for (const auto& p : f.head) {
    x0 = std::min(x0, p.x);
    y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x);
    y1 = std::max(y1, p.y);
  }
  const float s = static_cast<float>(ss_);
  return Box{x0 / s, y0 / s, (x1 - x0) / s, (y1 - y0) / s};
}

}  // namespace hesp::synth::detail

namespace hesp::synth::detail::face {

Layout::Layout(const Identity& id, const Scene& scene, const FaceActions& a, float canvas,
               Point drift, Frame& f)
    : id_(id),
      scene_(scene),
      a_(a),
      canvas_(canvas),
      drift_(drift),
      f_(f),
      yaw_(rad(scene.yaw + a[A::kHeadYaw])),
      pitch_(rad(scene.pitch + a[A::kHeadPitch])),
      roll_(rad(scene.roll + a[A::kHeadRoll])),
      jaw_(pos(a[A::kJawDrop])) {
  const float b = id.aspect;
  Projector& P = f.P;
  P.b = b;
  P.c = id.depth;
  P.setup(yaw_, pitch_, roll_);
  P.pivot_y = 0.9f * b;  // the head tilts about the top of the neck
  P.scale = scene.scale * canvas;
  P.px = (scene.cx + drift.x * scene.scale) * canvas;
  // A bowed head also sinks a little towards the chest.
  P.py = (scene.cy + drift.y * scene.scale) * canvas + 0.15f * std::sin(pitch_) * P.scale;
  f.unit = P.scale;
}

Painter::Painter(const Identity& id, const Scene& scene, const FaceActions& a, const Frame& f,
                 cv::Mat& img)
    : id_(id),
      scene_(scene),
      a_(a),
      f_(f),
      img_(img),
      unit_(f.unit),
      skin_(id.skin),
      dark_skin_(mul(id.skin, 0.55f)) {}

}  // namespace hesp::synth::detail::face

// SPDX-License-Identifier: LGPL-2.1-or-later
// The skin: cheeks, stubble, the wrinkles and marks every part adds, and the shading of the head.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "synth/face_paint.h"
#include "synth/face_parts.h"

namespace hesp::synth::detail::face {

void Layout::cheeks() {
  const Projector& P = f_.P;
  const float cheek = pos(a_[A::kCheekRaise]);
  const float lid = a_[A::kLidOpen];
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    const Rgb blush = mix(id_.skin, rgb(214, 96, 96), 0.55f);
    const float alpha = id_.blush + 0.1f * cheek;
    for (int ring = 0; ring < 6; ++ring) {
      const float k = 1.f - ring / 6.f;
      f_.skin_marks.push_back({P(face_ellipse(s * 0.5f, id_.nose_y - 0.02f - 0.06f * cheek,
                                              0.2f * k * (1.f + 0.1f * cheek), 0.12f * k, 0.f, 28)),
                               mix(id_.skin, blush, alpha * (ring + 1) / 6.f)});
    }
    if (cheek > 0.2f)
      f_.skin_marks.push_back(
          {P(face_ellipse(s * 0.44f, id_.nose_y - 0.1f - 0.05f * cheek, 0.13f, 0.06f, 0.f, 24)),
           mix(id_.skin, mul(id_.skin, 1.08f), cheek)});
    if (cheek > 0.3f || neg(lid) > 0.5f) {
      const float amount = std::max(cheek - 0.3f, 0.5f * (neg(lid) - 0.5f));
      const float u0 = s * (id_.eye_x + id_.eye_w + 0.025f);
      for (int k = -1; k <= 1; ++k)
        f_.creases.push_back({P(catmull_rom({{u0, id_.eye_y + 0.02f * k, 0.f},
                                             {u0 + s * 0.05f, id_.eye_y + 0.04f * k, 0.f},
                                             {u0 + s * 0.09f, id_.eye_y + 0.065f * k, 0.f}},
                                            4)),
                              0.6f * amount, 0.012f});
    }
    // Lid shadow between crease and lid margin.
    f_.skin_marks.push_back({f_.eyes[i].lid, mul(id_.skin, 0.9f)});
    // Bag below the eye.
    std::vector<FP> bag;
    for (int k = 3; k <= 13; ++k) {
      const float t = k / 16.f;
      const float u = s * (id_.eye_x - id_.eye_w + 2 * id_.eye_w * t);
      bag.push_back({u,
                     id_.eye_y + 0.75f * id_.eye_h * (1.f - 0.5f * cheek) + 0.035f +
                         0.02f * std::sin(kPi * t),
                     0.f});
    }
    f_.creases.push_back({P(bag), 0.12f + 0.25f * cheek, 0.012f});
  }
}

// Beard area: sideburns, down the jaw to the chin, the cheeks below a diagonal line and the
// upper lip.
void Layout::stubble() {
  if (id_.stubble <= 0.f) return;
  const Projector& P = f_.P;
  const float b = id_.aspect;
  const auto jaw_u = [&](float v) {
    return 0.97f * std::sqrt(std::max(0.f, 1.f - (v / b) * (v / b))) *
           (1.f - id_.jaw * 0.3f * std::pow(smooth((v - 0.2f * b) / (0.8f * b)), 1.4f));
  };
  const float top = id_.eye_y + 0.12f;
  std::vector<FP> area;
  for (int k = 0; k <= 20; ++k) {
    const float v = top + (b - top) * k / 20.f;
    area.push_back({jaw_u(v), v, 0.f});
  }
  for (int k = 20; k >= 0; --k) {
    const float v = top + (b - top) * k / 20.f;
    area.push_back({-jaw_u(v), v, 0.f});
  }
  for (float side : {-1.f, 1.f}) {
    const std::vector<FP> line = {{side * 0.62f, id_.mouth_y - 0.12f, 0.f},
                                  {side * 0.4f, id_.mouth_y - 0.07f, 0.f},
                                  {side * 0.3f, id_.nose_y + 0.1f, 0.f}};
    if (side < 0) {
      area.insert(area.end(), line.begin(), line.end());
      area.push_back({0.f, id_.nose_y + 0.085f, 0.f});
    } else {
      area.insert(area.end(), line.rbegin(), line.rend());
    }
  }
  f_.stubble = P(area);
}

void Painter::skin() {
  for (const auto& m : f_.skin_marks) fill(img_, m.poly, m.colour);
  if (!f_.stubble.empty()) {
    // Always a darkening: grey or blond stubble still reads darker than skin.
    soft_fill(img_, f_.stubble, mix(mul(skin_, 0.6f), mul(id_.hair, 0.5f), 0.3f), id_.stubble,
              0.03f * unit_);
  }
  for (const auto& c : f_.creases) {
    if (c.alpha <= 0.01f) continue;
    stroke_alpha(img_, c.pts, dark_skin_, c.width * unit_, std::min(c.alpha, 1.f));
  }
}

// The key light on the head, as on an ellipsoid: darker towards the silhouette and on the side
// away from the light.
void Painter::shading() {
  const Projector& P = f_.P;
  const cv::Rect r = bounds(f_.head, img_.size(), 1);
  if (r.width <= 0 || r.height <= 0) return;
  cv::Mat mask = cv::Mat::zeros(r.size(), CV_8U);
  const std::vector<std::vector<cv::Point>> polys{fixed(f_.head, {float(r.x), float(r.y)})};
  cv::fillPoly(mask, polys, cv::Scalar(255), cv::LINE_AA, kShift);
  float lx = scene_.light_x, ly = scene_.light_y;
  float lz = std::sqrt(std::max(0.25f, 1.f - lx * lx - ly * ly));
  const float ln = std::sqrt(lx * lx + ly * ly + lz * lz);
  lx /= ln;
  ly /= ln;
  lz /= ln;
  const float amb = scene_.ambient;
  const float front = amb + (1.f - amb) * lz;
  const float(&Q)[3][3] = P.Q;
  for (int y = 0; y < r.height; ++y) {
    auto* row = img_.ptr<cv::Vec3b>(r.y + y) + r.x;
    const auto* m = mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < r.width; ++x) {
      if (!m[x]) continue;
      float cx, cy;
      P.image_to_camera(r.x + x + 0.5f, r.y + y + 0.5f, cx, cy);
      const float B = Q[0][2] * cx + Q[1][2] * cy;
      const float C = Q[0][0] * cx * cx + 2 * Q[0][1] * cx * cy + Q[1][1] * cy * cy - 1.f;
      const float disc2 = B * B - Q[2][2] * C;
      const float cz = (-B + std::sqrt(std::max(disc2, 0.f))) / Q[2][2];
      float nx = Q[0][0] * cx + Q[0][1] * cy + Q[0][2] * cz;
      float ny = Q[1][0] * cx + Q[1][1] * cy + Q[1][2] * cz;
      float nz = Q[2][0] * cx + Q[2][1] * cy + Q[2][2] * cz;
      const float nn = std::sqrt(nx * nx + ny * ny + nz * nz) + 1e-6f;
      const float ndl = std::max(0.f, (nx * lx + ny * ly + nz * lz) / nn);
      const float shade = (amb + (1.f - amb) * ndl) / front;
      const float k = m[x] / 255.f;
      // Skin scatters red light further: shadows stay warmer (red darkens less, blue more).
      const float sr = 1.f + 0.8f * (shade - 1.f) * k;
      const float sg = 1.f + (shade - 1.f) * k;
      const float sb = 1.f + 1.1f * (shade - 1.f) * k;
      row[x][0] = cv::saturate_cast<uchar>(row[x][0] * sr);
      row[x][1] = cv::saturate_cast<uchar>(row[x][1] * sg);
      row[x][2] = cv::saturate_cast<uchar>(row[x][2] * sb);
    }
  }
}

}  // namespace hesp::synth::detail::face

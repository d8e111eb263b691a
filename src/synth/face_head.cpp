// SPDX-License-Identifier: LGPL-2.1-or-later
// The head: its outline, the neck and shoulders, the ears and the hair.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "synth/face_paint.h"
#include "synth/face_parts.h"
#include "synth/synth_rng.h"

namespace hesp::synth::detail::face {

void Layout::head() {
  const Projector& P = f_.P;
  const float b = id_.aspect;
  float mx, my, mz;
  P.to_camera(0.f, id_.mouth_y, P.surface_z(0.f, id_.mouth_y), mx, my, mz);
  std::vector<cv::Point2f> sil = P.silhouette(120);
  float ymax = 0.f;
  for (const auto& p : sil) ymax = std::max(ymax, p.y);
  const float jaw_top = 0.2f * b;
  for (auto& p : sil) {
    if (p.y > jaw_top) {
      float cx, cy, cz;
      P.to_camera(0.f, p.y, P.surface_z(0.f, std::min(p.y, b)), cx, cy, cz);
      const float k = smooth((p.y - jaw_top) / (ymax - jaw_top));
      p.x = cx + (p.x - cx) * (1.f - id_.jaw * 0.3f * std::pow(k, 1.4f));
    }
    if (p.y > my) p.y += jaw_ * 0.17f * smooth((p.y - my) / (ymax - my));
  }
  for (const auto& p : sil) f_.head.push_back(P.camera_to_image(p.x, p.y));
  const auto lowest = std::max_element(
      sil.begin(), sil.end(), [](const cv::Point2f& p, const cv::Point2f& q) { return p.y < q.y; });
  const cv::Point2f chin_px = P.camera_to_image(lowest->x, lowest->y);
  f_.lm[static_cast<int>(Landmark::kChin)] = {chin_px.x, chin_px.y};
}

void Layout::body() {
  const Projector& P = f_.P;
  const float b = id_.aspect;
  const cv::Point2f base(P.px, (scene_.cy + drift_.y * scene_.scale) * canvas_);
  const auto body = [&](float x, float y) { return base + cv::Point2f(x, y) * P.scale; };
  f_.torso = {body(-2.3f, b + 2.6f), body(-2.2f, b + 1.25f), body(-1.5f, b + 0.78f),
              body(-0.6f, b + 0.6f), body(0.6f, b + 0.6f),   body(1.5f, b + 0.78f),
              body(2.2f, b + 1.25f), body(2.3f, b + 2.6f)};
  f_.neckline = {body(-0.5f, b + 0.62f), body(-0.3f, b + 0.95f), body(0.f, b + 1.05f),
                 body(0.3f, b + 0.95f), body(0.5f, b + 0.62f)};
  f_.neck = {body(-0.44f, 0.45f * b), body(-0.48f, b + 0.5f), body(-0.6f, b + 0.68f),
             body(0.6f, b + 0.68f),   body(0.48f, b + 0.5f),  body(0.44f, 0.45f * b)};
  f_.chin_shadow_c = P.camera_to_image(0.f, 0.86f * b + jaw_ * 0.15f);
  f_.chin_shadow_r = cv::Size2f(0.36f * P.scale, 0.2f * P.scale);
}

void Layout::ears() {
  const Projector& P = f_.P;
  const float b = id_.aspect;
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    Frame::Ear& e = f_.ears[i];
    float x, y, z;
    P.to_camera(s * 0.98f, 0.08f * b, 0.f, x, y, z);
    const float turn = -s * std::sin(yaw_);  // > 0: ear turned towards the viewer
    e.visible = turn > -0.45f;
    e.c = P.camera_to_image(x + s * 0.04f * std::cos(yaw_), y);
    e.r =
        cv::Size2f((0.1f + 0.1f * pos(turn + 0.3f)) * id_.ear * P.scale, 0.22f * id_.ear * P.scale);
    e.angle = roll_ * 180.f / kPi + s * 8.f;
  }
}

void Layout::hair() {
  const Projector& P = f_.P;
  const float b = id_.aspect;
  if (id_.hair_style == HairStyle::kBald) return;
  const float vol = 1.f + id_.hair_volume;
  const float side_v = id_.eye_y - 0.04f;
  std::vector<FP> line;
  for (int i = 0; i <= 40; ++i) {
    const float u = 0.98f - 1.96f * i / 40.f;  // right to left
    float v = id_.hairline + (side_v - id_.hairline) * std::pow(std::abs(u), 2.4f);
    if (id_.hair_style == HairStyle::kBangs) v += 0.035f * std::abs(std::sin(u * 19.f));
    if (id_.hair_style == HairStyle::kCurly) v -= 0.02f * std::abs(std::sin(u * 13.f));
    line.push_back({u, v, 0.01f});
  }
  const cv::Point2f right = P(line.front()), left = P(line.back());
  // The outer arc over the top of the head, between the two hairline ends (angles about the
  // head centre, unrolled).
  float xr, yr, xl, yl;
  P.image_to_camera(right.x, right.y, xr, yr);
  P.image_to_camera(left.x, left.y, xl, yl);
  float tl = std::atan2(yl, xl);
  const float tr = std::atan2(yr, xr);
  if (tl > 0) tl -= 2 * kPi;
  std::vector<cv::Point2f> arc;
  const std::vector<cv::Point2f> outline = P.silhouette(240);
  for (int i = 0; i <= 60; ++i) {
    const float t = tl + (tr - tl) * i / 60.f;
    // radius of the silhouette in direction t
    const int k = static_cast<int>(std::lround((t < 0 ? t + 2 * kPi : t) / (2 * kPi) * 240)) % 240;
    float rr = std::hypot(outline[k].x, outline[k].y) * vol;
    if (id_.hair_style == HairStyle::kCurly) rr += 0.05f * std::abs(std::sin(t * 9.f));
    arc.push_back(P.camera_to_image(rr * std::cos(t), rr * std::sin(t)));
  }
  f_.hair_cap = arc;
  for (const FP& p : line) f_.hair_cap.push_back(P(p));
  if (id_.hair_style == HairStyle::kLong) {
    const float w = 1.08f + id_.hair_volume, bottom = b + 0.85f;
    std::vector<cv::Point2f> back;
    for (int i = 0; i <= 20; ++i) {  // over the top
      const float t = kPi + kPi * i / 20.f;
      back.push_back({w * 1.04f * std::cos(t), (b + id_.hair_volume) * std::sin(t)});
    }
    back.push_back({w + 0.06f, 0.5f * b});
    back.push_back({w + 0.18f, bottom});
    back.push_back({-w - 0.18f, bottom});
    back.push_back({-w - 0.06f, 0.5f * b});
    for (auto& p : back) f_.hair_back.push_back(P.camera_to_image(p.x, p.y));
  }
  if (id_.hair_style == HairStyle::kBun) {
    f_.bun = true;
    f_.bun_c = P.camera_to_image(0.f, -b - 0.12f);
    f_.bun_r = 0.34f * P.scale;
  }
}

void Painter::behind_face() {
  fill(img_, f_.torso, id_.clothes);
  if (!f_.hair_back.empty()) fill(img_, f_.hair_back, mul(id_.hair, 0.8f));
  fill(img_, f_.neckline, mul(skin_, 0.86f));
  fill(img_, f_.neck, mul(skin_, 0.84f));
  cv::ellipse(img_,
              cv::Point(cvRound(f_.chin_shadow_c.x * kShiftScale),
                        cvRound(f_.chin_shadow_c.y * kShiftScale)),
              cv::Size(cvRound(f_.chin_shadow_r.width * kShiftScale),
                       cvRound(f_.chin_shadow_r.height * kShiftScale)),
              0, 0, 360, sc(mul(skin_, 0.68f)), cv::FILLED, cv::LINE_AA, kShift);
  if (f_.bun) disc(img_, f_.bun_c, f_.bun_r, mul(id_.hair, 0.9f));
  for (const auto& e : f_.ears) {
    if (!e.visible) continue;
    const cv::Point c(cvRound(e.c.x * kShiftScale), cvRound(e.c.y * kShiftScale));
    cv::ellipse(img_, c,
                cv::Size(cvRound(e.r.width * kShiftScale), cvRound(e.r.height * kShiftScale)),
                e.angle, 0, 360, sc(mul(skin_, 0.9f)), cv::FILLED, cv::LINE_AA, kShift);
    cv::ellipse(img_, c,
                cv::Size(cvRound(e.r.width * 0.55f * kShiftScale),
                         cvRound(e.r.height * 0.6f * kShiftScale)),
                e.angle, 0, 360, sc(mul(skin_, 0.72f)), std::max(1, cvRound(0.02f * unit_)),
                cv::LINE_AA, kShift);
  }
  fill(img_, f_.head, skin_);
}

// The cap with a sheen towards the light and a few strands.
void Painter::hair() {
  if (f_.hair_cap.empty()) return;
  fill(img_, f_.hair_cap, id_.hair);
  Rng strands(id_.seed, Stream::kIdentity);
  draw_clipped(img_, f_.hair_cap, [&](cv::Mat& layer, cv::Point2f off) {
    const cv::Rect r = bounds(f_.hair_cap, cv::Size(1 << 20, 1 << 20), 0);
    const cv::Point2f sheen(r.x + r.width * (0.5f + 0.25f * scene_.light_x) - off.x,
                            r.y + r.height * 0.22f - off.y);
    cv::ellipse(layer, sheen, cv::Size2f(r.width * 0.45f, r.height * 0.16f), 0, 0, 360,
                sc(mix(id_.hair, rgb(255, 250, 240), 0.18f)), cv::FILLED, cv::LINE_AA);
    cv::GaussianBlur(layer, layer, cv::Size(0, 0), std::max(1.0, 0.03 * unit_));
    // Strands fall away from the crown, curving slightly.
    const cv::Point2f crown = f_.P.camera_to_image(0.f, -0.75f * f_.P.b);
    for (int k = 0; k < 40; ++k) {
      const cv::Point2f p0(r.x + strands.uniform() * r.width, r.y + strands.uniform() * r.height);
      cv::Point2f d = p0 - crown;
      const float n = std::hypot(d.x, d.y);
      if (n < 1e-3f) continue;
      d *= 1.f / n;
      const cv::Point2f side(-d.y, d.x);
      const float len = (0.12f + 0.2f * strands.uniform()) * unit_;
      const float bend = strands.uniform(-0.25f, 0.25f) * len;
      const std::vector<cv::Point2f> pts = {p0, p0 + d * (0.5f * len) + side * bend,
                                            p0 + d * len + side * (1.5f * bend)};
      stroke(layer, pts, mul(id_.hair, strands.chance(0.5) ? 0.82f : 1.15f), 0.008f * unit_, off);
    }
  });
}

}  // namespace hesp::synth::detail::face

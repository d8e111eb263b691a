// SPDX-License-Identifier: LGPL-2.1-or-later
// The eyes, the brows (with the furrows and forehead lines they make) and glasses.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "synth/face_paint.h"
#include "synth/face_parts.h"

namespace hesp::synth::detail::face {

void Layout::eyes() {
  const Projector& P = f_.P;
  const float lid = a_[A::kLidOpen], blink = std::clamp(a_[A::kBlink], 0.f, 1.f);
  const float cheek = pos(a_[A::kCheekRaise]);
  const float gx = std::clamp(a_[A::kGazeX], -1.2f, 1.2f),
              gy = std::clamp(a_[A::kGazeY], -1.2f, 1.2f);
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    Frame::Eye& e = f_.eyes[i];
    const FP inner{s * (id_.eye_x - id_.eye_w), id_.eye_y + 0.005f, -0.02f};
    const FP outer{s * (id_.eye_x + id_.eye_w), id_.eye_y - id_.eye_tilt, -0.02f};
    float up =
        id_.eye_h * (1.f + 0.6f * pos(lid) - 0.5f * neg(lid) - 0.18f * pos(gy) + 0.12f * neg(gy));
    const float lo = 0.75f * id_.eye_h * (1.f - 0.5f * cheek - 0.22f * neg(lid) + 0.2f * pos(lid));
    up = up * (1.f - blink) - 0.7f * lo * blink;
    std::vector<FP> upper, lower, crease;
    for (int k = 0; k <= 16; ++k) {
      const float t = k / 16.f;
      const float u = inner.u + (outer.u - inner.u) * t;
      const float v = inner.v + (outer.v - inner.v) * t;
      // sin(pi) comes out a hair below zero in float: clamp before the fractional power.
      const float bump_u = std::pow(std::max(0.f, std::sin(kPi * std::pow(t, 0.85f))), 0.8f);
      const float bump_l = std::pow(std::max(0.f, std::sin(kPi * std::pow(t, 1.15f))), 0.9f);
      float vu = v - up * bump_u;
      const float vl = v + lo * bump_l;
      vu = std::min(vu, vl - 0.002f * bump_l);
      upper.push_back({u, vu, -0.02f});
      lower.push_back({u, vl, -0.02f});
      const float crease_h = id_.eye_h * (1.55f + 0.4f * pos(lid)) - 0.25f * id_.eye_h * neg(lid);
      if (k >= 1 && k <= 16)
        crease.push_back(
            {u + s * 0.01f * t,
             v - crease_h * std::pow(std::max(0.f, std::sin(kPi * (0.05f + 0.9f * t))), 0.7f),
             0.f});
    }
    e.upper = P(upper);
    e.lower = P(lower);
    e.crease = P(crease);
    e.opening = e.upper;
    for (auto it = e.lower.rbegin(); it != e.lower.rend(); ++it) e.opening.push_back(*it);
    e.lid = e.crease;
    for (auto it = e.upper.rbegin(); it != e.upper.rend(); ++it) e.lid.push_back(*it);
    const float iu = s * id_.eye_x + gx * 0.55f * id_.eye_w;
    const float iv = id_.eye_y + gy * 0.35f * id_.eye_h;
    e.iris = P(iu, iv, -0.01f);
    e.iris_r = 0.4f * id_.eye_w * P.scale;
    const int li = i == 0 ? 0 : 3;
    f_.lm[static_cast<int>(Landmark::kEyeTopLeft) + li] = {e.upper[7].x, e.upper[7].y};
    f_.lm[static_cast<int>(Landmark::kEyeBottomLeft) + li] = {e.lower[9].x, e.lower[9].y};
    f_.lm[static_cast<int>(Landmark::kIrisLeft) + li] = {e.iris.x, e.iris.y};
  }
}

void Layout::brows() {
  const Projector& P = f_.P;
  const float raise = a_[A::kBrowRaise], inner_raise = pos(a_[A::kBrowInnerRaise]),
              draw = pos(a_[A::kBrowDraw]);
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    std::vector<FP> top, bottom, mid;
    for (int k = 0; k <= 14; ++k) {
      const float t = k / 14.f;
      float u = s * (id_.brow_inner + id_.brow_len * t);
      float v = id_.brow_y - id_.brow_arch * std::sin(kPi * std::pow(t, 1.3f)) + 0.03f * t * t;
      v += -0.11f * raise - 0.03f * pos(raise) * std::sin(kPi * t);
      v += -0.13f * inner_raise * std::pow(1.f - t, 1.6f);
      v += 0.075f * draw * std::pow(1.f - t, 1.3f) + 0.015f * draw;
      u += -s * 0.055f * draw * std::pow(1.f - t, 1.5f);
      const float th = id_.brow_thick * (1.05f - 0.6f * std::pow(t, 1.5f));
      top.push_back({u, v - th * 0.5f, 0.01f});
      bottom.push_back({u, v + th * 0.5f, 0.01f});
      mid.push_back({u, v, 0.01f});
    }
    f_.brows[i] = P(top);
    for (auto it = bottom.rbegin(); it != bottom.rend(); ++it) f_.brows[i].push_back(P(*it));
    const int li = i == 0 ? 0 : 3;
    const cv::Point2f in = P(mid[0]), peak = P(mid[8]), out = P(mid[14]);
    f_.lm[static_cast<int>(Landmark::kBrowInnerLeft) + li] = {in.x, in.y};
    f_.lm[static_cast<int>(Landmark::kBrowPeakLeft) + li] = {peak.x, peak.y};
    f_.lm[static_cast<int>(Landmark::kBrowOuterLeft) + li] = {out.x, out.y};
    // Vertical furrows between drawn brows.
    if (draw > 0.2f) {
      const float fu = s * (0.045f + 0.01f * (1 - draw));
      f_.creases.push_back({P(catmull_rom({{fu, id_.brow_y - 0.03f, 0.f},
                                           {fu - s * 0.01f, id_.brow_y + 0.04f, 0.f},
                                           {fu - s * 0.005f, id_.brow_y + 0.1f, 0.f}},
                                          6)),
                            0.7f * (draw - 0.2f), 0.016f});
    }
  }
  // Forehead lines: full width when the whole brow rises, in the middle for the inner brow.
  if (raise > 0.25f || inner_raise > 0.3f) {
    const float full = std::clamp((raise - 0.25f) / 0.6f, 0.f, 1.f);
    const float centre = std::clamp((inner_raise - 0.3f) / 0.6f, 0.f, 1.f);
    for (int k = 0; k < 3; ++k) {
      const float v = id_.brow_y - 0.14f - 0.075f * k - 0.05f * pos(raise);
      if (v < id_.hairline + 0.04f) continue;
      const float half = 0.16f + 0.3f * full;
      std::vector<FP> c;
      for (int j = 0; j <= 10; ++j) {
        const float u = -half + 2 * half * j / 10.f;
        const float bend =
            full >= centre ? 0.02f * (u / half) * (u / half) : -0.03f * (u / half) * (u / half);
        c.push_back({u, v + bend, 0.f});
      }
      f_.creases.push_back({P(c), 0.45f * std::max(full, centre), 0.013f});
    }
  }
}

void Layout::glasses() {
  if (!id_.glasses) return;
  const Projector& P = f_.P;
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    std::vector<FP> rim;
    const float ru = id_.eye_w * 1.45f, rv = id_.eye_h * 2.2f + 0.02f;
    for (int k = 0; k < 40; ++k) {
      const float t = 2 * kPi * k / 40.f;
      const float c = std::cos(t), sn = std::sin(t);
      const float e = 0.5f;  // superellipse: rounded rectangle
      rim.push_back({s * id_.eye_x + ru * std::copysign(std::pow(std::abs(c), e), c),
                     id_.eye_y + 0.01f + rv * std::copysign(std::pow(std::abs(sn), e), sn), 0.14f});
    }
    rim.push_back(rim.front());
    f_.glasses[i] = P(rim);
    f_.glasses_temples[i] = P(std::vector<FP>{{s * (id_.eye_x + ru), id_.eye_y - 0.02f, 0.12f},
                                              {s * 0.99f, id_.eye_y, 0.f}});
  }
  f_.glasses_bridge = P(catmull_rom({{-(id_.eye_x - id_.eye_w * 1.45f), id_.eye_y - 0.03f, 0.14f},
                                     {0.f, id_.eye_y - 0.05f, 0.3f},
                                     {id_.eye_x - id_.eye_w * 1.45f, id_.eye_y - 0.03f, 0.14f}},
                                    6));
}

// Sclera, iris and pupil clipped to the opening, then lash line and lower lid.
void Painter::eyes() {
  const float blink = std::clamp(a_[A::kBlink], 0.f, 1.f);
  for (const auto& e : f_.eyes) {
    if (blink < 0.97f) {
      draw_clipped(img_, e.opening, [&](cv::Mat& layer, cv::Point2f off) {
        layer.setTo(sc(rgb(236, 230, 224)));
        disc(layer, e.iris, e.iris_r, id_.iris, off);
        cv::circle(layer,
                   cv::Point(cvRound((e.iris.x - off.x) * kShiftScale),
                             cvRound((e.iris.y - off.y) * kShiftScale)),
                   cvRound(e.iris_r * kShiftScale), sc(mul(id_.iris, 0.5f)),
                   std::max(1, cvRound(0.012f * unit_)), cv::LINE_AA, kShift);
        disc(layer, e.iris, e.iris_r * 0.45f, rgb(16, 14, 14), off);
        disc(layer, e.iris + cv::Point2f(-0.3f, -0.35f) * e.iris_r, e.iris_r * 0.18f,
             rgb(250, 250, 250), off);
        stroke(layer, e.upper, rgb(150, 140, 135), 0.03f * unit_,
               off);  // lid shadow on the eyeball
      });
    }
    stroke(img_, e.upper, mix(id_.brow, rgb(10, 8, 8), 0.6f), 0.024f * unit_);
    stroke(img_, e.lower, mix(skin_, dark_skin_, 0.45f), 0.01f * unit_);
    stroke(img_, e.crease, mix(skin_, dark_skin_, 0.45f), 0.012f * unit_);
  }
}

void Painter::brows() {
  for (const auto& brow : f_.brows) fill(img_, brow, id_.brow);
}

// In front of the face: tinted lenses, rims, temples and bridge.
void Painter::glasses() {
  if (!id_.glasses) return;
  for (int i = 0; i < 2; ++i) {
    draw_clipped(img_, f_.glasses[i], [&](cv::Mat& layer, cv::Point2f) {
      cv::addWeighted(layer, 0.88, cv::Mat(layer.size(), layer.type(), cv::Scalar(235, 240, 245)),
                      0.12, 0.0, layer);
    });
    stroke(img_, f_.glasses[i], id_.glasses_colour, 0.028f * unit_);
    stroke(img_, f_.glasses_temples[i], id_.glasses_colour, 0.028f * unit_);
  }
  stroke(img_, f_.glasses_bridge, id_.glasses_colour, 0.025f * unit_);
}

}  // namespace hesp::synth::detail::face

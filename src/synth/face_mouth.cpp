// SPDX-License-Identifier: LGPL-2.1-or-later
// The nose and the mouth, with the folds and marks around them.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "synth/face_paint.h"
#include "synth/face_parts.h"

namespace hesp::synth::detail::face {

namespace {
constexpr int kLipSteps = 24;  // segments of each lip contour
}  // namespace

Layout::NoseShape Layout::nose_shape() const {
  const float wrinkle = pos(a_[A::kNoseWrinkle]);
  return {wrinkle, id_.nose_w * (1.f + 0.12f * wrinkle),
          0.035f * wrinkle + 0.01f * pos(a_[A::kUpperLipRaise])};
}

void Layout::nose() {
  const Projector& P = f_.P;
  const NoseShape nose = nose_shape();
  const float wrinkle = nose.wrinkle, nw = nose.width, lift = nose.lift;
  const FP tip{0.f, id_.nose_y, 0.3f};
  const cv::Point2f tip_px = P(tip);
  f_.lm[static_cast<int>(Landmark::kNoseTip)] = {tip_px.x, tip_px.y};
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    std::vector<FP> ns =
        face_ellipse(s * 0.42f * nw, id_.nose_y + 0.045f - lift, 0.34f * nw, 0.15f * nw, 0.17f, 20);
    for (FP& p : ns) {  // tilt the nostril: outer end higher
      p.v -= 0.3f * (p.u - s * 0.42f * nw) * s;
    }
    f_.nostrils[i] = P(ns);
    f_.alae[i] = P(catmull_rom({{s * 0.55f * nw, id_.nose_y - 0.09f - lift, 0.16f},
                                {s * 1.0f * nw, id_.nose_y - 0.015f - lift, 0.1f},
                                {s * 0.95f * nw, id_.nose_y + 0.045f - lift, 0.1f},
                                {s * 0.62f * nw, id_.nose_y + 0.07f - lift, 0.14f}},
                               6));
  }
  const float shadow_side = scene_.light_x < 0 ? 1.f : -1.f;
  f_.creases.push_back({P(catmull_rom({{shadow_side * 0.075f, id_.eye_y + 0.05f, 0.1f},
                                       {shadow_side * 0.095f, id_.nose_y - 0.13f, 0.2f},
                                       {shadow_side * 0.6f * nw, id_.nose_y - 0.08f, 0.2f}},
                                      8)),
                        0.22f, 0.035f});
  f_.creases.push_back({P(catmull_rom({{-0.28f * nw, id_.nose_y + 0.075f - lift, 0.22f},
                                       {0.f, id_.nose_y + 0.09f - lift, 0.25f},
                                       {0.28f * nw, id_.nose_y + 0.075f - lift, 0.22f}},
                                      6)),
                        0.3f, 0.018f});
  if (wrinkle > 0.15f) {
    for (int k = 0; k < 3; ++k) {
      const float v = id_.eye_y + 0.07f + 0.035f * k;
      f_.creases.push_back(
          {P(catmull_rom(
               {{-0.075f, v + 0.01f, 0.1f}, {0.f, v - 0.008f, 0.12f}, {0.075f, v + 0.01f, 0.1f}},
               5)),
           0.6f * wrinkle, 0.014f});
    }
  }
  f_.skin_marks.push_back(
      {P(face_ellipse(-scene_.light_x * 0.03f, id_.nose_y - 0.03f, 0.035f, 0.045f, 0.3f, 16)),
       mul(id_.skin, 1.1f)});
}

struct Layout::Lips {
  float cl, cr, stretch, press, ulr, chin, pull;  // the actions that shape the mouth
  FP left, right;                                 // the corners
  float open;                                     // how far the lips part, face units
  // Inner and outer edges of the upper and lower lip and the line between the lips, from the left
  // corner to the right one, kLipSteps + 1 points each.
  std::vector<FP> up_in, up_out, lo_in, lo_out, mid;
};

Layout::Lips Layout::lip_contours() const {
  const float cl = a_[A::kLipCornerLeft], cr = a_[A::kLipCornerRight];
  const float stretch = a_[A::kLipStretch], press = pos(a_[A::kLipPress]);
  const float ulr = pos(a_[A::kUpperLipRaise]), chin = pos(a_[A::kChinRaise]);
  const float pull = 0.5f * (pos(cl) + pos(cr));
  const auto corner = [&](float c, float s) -> FP {
    const float w = id_.mouth_w * (1.f + 0.16f * pos(c) + 0.22f * pos(stretch) -
                                   0.3f * neg(stretch) - 0.08f * press + 0.05f * jaw_);
    const float v =
        id_.mouth_y - 0.1f * pos(c) + 0.08f * neg(c) - 0.015f * pos(stretch) + 0.03f * jaw_;
    return {s * w, v, 0.03f};
  };
  const FP L = corner(cl, -1.f), Rr = corner(cr, 1.f);
  Lips lips{cl, cr, stretch, press, ulr, chin, pull, L, Rr, 0.f, {}, {}, {}, {}, {}};
  const float vm = id_.mouth_y + 0.012f * pull - 0.03f * chin + 0.01f * ulr;
  // Quadratic through the corners and the centre of the lip line.
  const auto line_at = [&](float t) -> FP {
    const float l0 = 2 * (t - 0.5f) * (t - 1.f), l1 = -4 * t * (t - 1.f), l2 = 2 * t * (t - 0.5f);
    return {L.u * l0 + 0.f * l1 + Rr.u * l2, L.v * l0 + vm * l1 + Rr.v * l2, 0.f};
  };
  lips.open = 0.3f * jaw_ + 0.025f * pos(stretch) + 0.045f * ulr;
  const float gap_up = 0.28f * lips.open + 0.04f * ulr;
  const float gap_down = 0.72f * lips.open;
  const float tu =
      id_.lip_upper * (1.f - 0.7f * press) * (1.f + 0.15f * ulr) * (1.f - 0.25f * pull);
  const float tl =
      id_.lip_lower * (1.f - 0.65f * press) * (1.f + 0.25f * chin) * (1.f - 0.2f * pull);
  for (int k = 0; k <= kLipSteps; ++k) {
    const float t = k / float(kLipSteps);
    const FP m = line_at(t);
    const float w = std::max(0.f, 1.f - (2 * t - 1) * (2 * t - 1));
    const float wo = std::pow(w, 0.7f);
    const float dz = 0.05f + 0.04f * w + 0.03f * chin;
    const float bow = std::exp(-std::pow((t - 0.5f) / 0.07f, 2.f));
    const float ui = m.v - gap_up * wo;
    const float li = m.v + gap_down * wo;
    lips.up_in.push_back({m.u, ui, dz});
    lips.lo_in.push_back({m.u, li, dz});
    lips.up_out.push_back(
        {m.u, ui - tu * (0.25f + 0.75f * std::sqrt(w)) * (1.f - 0.28f * bow), dz});
    lips.lo_out.push_back({m.u, li + tl * (0.2f + 0.8f * std::pow(w, 0.6f)), dz});
    lips.mid.push_back({m.u, m.v, dz});
  }
  return lips;
}

// The lips, the inside of an open mouth (teeth, tongue), the lower lip's highlight, landmarks.
void Layout::lip_outlines(const Lips& lips) {
  const Projector& P = f_.P;
  const auto proj_rev = [&](std::vector<cv::Point2f>& dst, const std::vector<FP>& src) {
    for (auto it = src.rbegin(); it != src.rend(); ++it) dst.push_back(P(*it));
  };
  f_.upper_lip = P(lips.up_out);
  proj_rev(f_.upper_lip, lips.up_in);
  f_.lower_lip = P(lips.lo_in);
  proj_rev(f_.lower_lip, lips.lo_out);
  f_.mouth_line = P(lips.mid);
  if (lips.open > 0.012f) {
    f_.mouth_inside = P(lips.up_in);
    proj_rev(f_.mouth_inside, lips.lo_in);
    // Upper teeth hang from the upper lip, lower teeth show once the mouth is well open.
    std::vector<FP> tu_pts, tl_pts;
    for (int k = 2; k <= kLipSteps - 2; ++k)
      tu_pts.push_back({lips.up_in[k].u, lips.up_in[k].v - 0.01f, lips.up_in[k].dz});
    for (int k = kLipSteps - 2; k >= 2; --k)
      tu_pts.push_back({lips.up_in[k].u, lips.up_in[k].v + 0.055f, lips.up_in[k].dz});
    f_.teeth_upper = P(tu_pts);
    if (lips.open > 0.12f) {
      for (int k = 3; k <= kLipSteps - 3; ++k)
        tl_pts.push_back({lips.lo_in[k].u, lips.lo_in[k].v + 0.01f, lips.lo_in[k].dz});
      for (int k = kLipSteps - 3; k >= 3; --k)
        tl_pts.push_back({lips.lo_in[k].u, lips.lo_in[k].v - 0.035f, lips.lo_in[k].dz});
      f_.teeth_lower = P(tl_pts);
    }
    f_.tongue = P(face_ellipse(0.f, lips.lo_in[kLipSteps / 2].v + 0.01f, 0.6f * id_.mouth_w, 0.06f,
                               0.05f, 20));
  }
  {
    std::vector<FP> hl;
    for (int k = 8; k <= 16; ++k)
      hl.push_back({lips.lo_out[k].u, (lips.lo_in[k].v + 2 * lips.lo_out[k].v) / 3.f - 0.005f,
                    lips.lo_out[k].dz});
    f_.lip_highlight = P(hl);
  }
  const cv::Point2f pl = P(lips.left), pr = P(lips.right);
  f_.lm[static_cast<int>(Landmark::kMouthCornerLeft)] = {pl.x, pl.y};
  f_.lm[static_cast<int>(Landmark::kMouthCornerRight)] = {pr.x, pr.y};
  const auto lmp = [&](Landmark l, const FP& p) {
    const cv::Point2f q = P(p);
    f_.lm[static_cast<int>(l)] = {q.x, q.y};
  };
  lmp(Landmark::kUpperLipTop, lips.up_out[kLipSteps / 2]);
  lmp(Landmark::kUpperLipInner, lips.up_in[kLipSteps / 2]);
  lmp(Landmark::kLowerLipInner, lips.lo_in[kLipSteps / 2]);
  lmp(Landmark::kLowerLipBottom, lips.lo_out[kLipSteps / 2]);
}

// Nasolabial folds, mouth-corner marks and the crease above the chin.
void Layout::mouth_creases(const Lips& lips) {
  const Projector& P = f_.P;
  const float cheek = pos(a_[A::kCheekRaise]);
  const NoseShape nose = nose_shape();
  const float wrinkle = nose.wrinkle, nw = nose.width, lift = nose.lift;
  // Nasolabial folds from the nose wings to beyond the mouth corners.
  const float fold = std::clamp(id_.fold + 0.5f * cheek + 0.4f * wrinkle + 0.35f * lips.ulr +
                                    0.3f * lips.pull + 0.2f * pos(lips.stretch),
                                0.f, 0.85f);
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    const FP& c = i == 0 ? lips.left : lips.right;
    f_.creases.push_back(
        {P(catmull_rom({{s * (nw + 0.03f), id_.nose_y - 0.04f - lift, 0.05f},
                        {s * (nw + 0.1f + 0.05f * cheek), id_.nose_y + 0.12f, 0.02f},
                        {c.u + s * 0.07f, c.v + 0.06f, 0.f}},
                       8)),
         fold, 0.022f});
  }
  // Mouth-corner marks: dimple of a one-sided smile, tension of pressed lips.
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    const float c = i == 0 ? lips.cl : lips.cr, other = i == 0 ? lips.cr : lips.cl;
    const FP& k = i == 0 ? lips.left : lips.right;
    const float dimple = std::clamp((c - other - 0.35f) * 1.2f, 0.f, 0.7f) + 0.5f * lips.press;
    if (dimple > 0.05f)
      f_.creases.push_back({P(catmull_rom({{k.u + s * 0.03f, k.v - 0.035f, 0.02f},
                                           {k.u + s * 0.05f, k.v, 0.02f},
                                           {k.u + s * 0.03f, k.v + 0.035f, 0.02f}},
                                          5)),
                            dimple, 0.014f});
  }
  // Crease between lower lip and chin, deeper when the chin pushes up.
  const float v = lips.lo_out[kLipSteps / 2].v + 0.07f + 0.03f * jaw_;
  f_.creases.push_back(
      {P(catmull_rom(
           {{-0.12f, v - 0.01f, 0.02f}, {0.f, v + 0.01f, 0.03f}, {0.12f, v - 0.01f, 0.02f}}, 6)),
       0.12f + 0.4f * lips.chin, 0.02f});
  if (lips.chin > 0.2f)
    for (int k = -1; k <= 1; k += 2)
      f_.creases.push_back(
          {P(catmull_rom({{k * 0.05f, v + 0.07f, 0.02f}, {k * 0.065f, v + 0.1f, 0.02f}}, 3)),
           0.45f * lips.chin, 0.014f});
}

void Layout::mouth() {
  const Lips lips = lip_contours();
  lip_outlines(lips);
  mouth_creases(lips);
}

void Painter::nose() {
  for (int i = 0; i < 2; ++i) {
    stroke(img_, f_.alae[i], mix(skin_, dark_skin_, 0.55f), 0.02f * unit_);
    fill(img_, f_.nostrils[i], mul(skin_, 0.35f));
  }
}

void Painter::mouth() {
  fill(img_, f_.upper_lip, mul(id_.lip, 0.9f));
  fill(img_, f_.lower_lip, id_.lip);
  stroke(img_, f_.lip_highlight, mix(id_.lip, rgb(255, 235, 230), 0.25f), 0.015f * unit_);
  if (!f_.mouth_inside.empty()) {
    draw_clipped(img_, f_.mouth_inside, [&](cv::Mat& layer, cv::Point2f off) {
      layer.setTo(sc(rgb(62, 24, 26)));
      fill(layer, f_.tongue, rgb(170, 82, 86), off);
      if (!f_.teeth_lower.empty()) fill(layer, f_.teeth_lower, rgb(222, 218, 205), off);
      fill(layer, f_.teeth_upper, rgb(240, 236, 224), off);
    });
  }
  stroke(img_, f_.mouth_line, mul(id_.lip, 0.45f), 0.014f * unit_);
}

}  // namespace hesp::synth::detail::face

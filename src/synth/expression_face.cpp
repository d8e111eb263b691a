// SPDX-License-Identifier: LGPL-2.1-or-later
#include "synth/expression_face.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "synth/synth_rng.h"

namespace hesp::synth::detail {

namespace {

using A = Action;
constexpr float kPi = 3.14159265f;
// Sub-pixel precision of OpenCV's drawing calls: coordinates are multiplied by 2^kShift.
constexpr int kShift = 4;
constexpr float kShiftScale = 16.f;

float rad(float degrees) { return degrees * kPi / 180.f; }
float smooth(float x) {
  x = std::clamp(x, 0.f, 1.f);
  return x * x * (3.f - 2.f * x);
}
float pos(float x) { return std::max(x, 0.f); }
float neg(float x) { return std::max(-x, 0.f); }

Rgb rgb(float r, float g, float b) { return {r, g, b}; }
Rgb mix(Rgb a, Rgb b, float t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}
Rgb mul(Rgb a, float k) { return {a.r * k, a.g * k, a.b * k}; }
Rgb clamp255(Rgb a) {
  return {std::clamp(a.r, 0.f, 255.f), std::clamp(a.g, 0.f, 255.f), std::clamp(a.b, 0.f, 255.f)};
}
cv::Scalar sc(Rgb c) {
  c = clamp255(c);
  return cv::Scalar(c.r, c.g, c.b);  // canvases are RGB
}

// HSV (h in degrees, s and v 0..1) to RGB 0..255.
Rgb hsv(float h, float s, float v) {
  h = std::fmod(std::fmod(h, 360.f) + 360.f, 360.f) / 60.f;
  const int i = static_cast<int>(h) % 6;
  const float f = h - std::floor(h);
  const float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  float r = v, g = t, b = p;
  switch (i) {
    case 0:
      r = v;
      g = t;
      b = p;
      break;
    case 1:
      r = q;
      g = v;
      b = p;
      break;
    case 2:
      r = p;
      g = v;
      b = t;
      break;
    case 3:
      r = p;
      g = q;
      b = v;
      break;
    case 4:
      r = t;
      g = p;
      b = v;
      break;
    default:
      r = v;
      g = p;
      b = q;
      break;
  }
  return {r * 255.f, g * 255.f, b * 255.f};
}

std::string colour_name(float h, float s, float v) {
  if (s < 0.15f) return v < 0.35f ? "dark grey" : v < 0.7f ? "grey" : "pale grey";
  static const struct {
    float upto;
    const char* name;
  } kHues[] = {{15, "red"},   {40, "orange"},  {65, "yellow"}, {165, "green"}, {200, "teal"},
               {255, "blue"}, {290, "purple"}, {345, "pink"},  {361, "red"}};
  std::string name = "red";
  for (const auto& hue : kHues)
    if (h < hue.upto) {
      name = hue.name;
      break;
    }
  if (v < 0.4f) return "dark " + name;
  if (s < 0.3f && v > 0.75f) return "pale " + name;
  return name;
}

// A point in face coordinates with extra depth above the head surface.
struct FP {
  float u, v, dz;
};

std::vector<FP> catmull_rom(const std::vector<FP>& c, int steps) {
  std::vector<FP> out;
  const int n = static_cast<int>(c.size());
  for (int i = 0; i + 1 < n; ++i) {
    const FP& p0 = c[std::max(i - 1, 0)];
    const FP& p1 = c[i];
    const FP& p2 = c[i + 1];
    const FP& p3 = c[std::min(i + 2, n - 1)];
    for (int k = 0; k < steps || (i + 2 == n && k == steps); ++k) {
      const float t = static_cast<float>(k) / steps, t2 = t * t, t3 = t2 * t;
      const auto f = [&](float a, float b, float cc, float d) {
        return 0.5f * (2 * b + (-a + cc) * t + (2 * a - 5 * b + 4 * cc - d) * t2 +
                       (-a + 3 * b - 3 * cc + d) * t3);
      };
      out.push_back(
          {f(p0.u, p1.u, p2.u, p3.u), f(p0.v, p1.v, p2.v, p3.v), f(p0.dz, p1.dz, p2.dz, p3.dz)});
    }
  }
  return out;
}

// Face coordinates -> canvas pixels.
struct Projector {
  float b = 1.3f, c = 0.95f;  // ellipsoid half-height and half-depth (half-width is 1)
  float R[3][3];              // face -> camera rotation (yaw, then pitch)
  float Q[3][3];              // the ellipsoid as a quadric in camera coordinates
  float roll_c = 1.f, roll_s = 0.f, pivot_y = 1.f;
  float px = 0.f, py = 0.f, scale = 1.f;

  void setup(float yaw, float pitch, float roll) {
    const float cy = std::cos(yaw), sy = std::sin(yaw), cp = std::cos(pitch), sp = std::sin(pitch);
    // Ryaw: (u, v, z) -> (u cy + z sy, v, -u sy + z cy); Rpitch: (x, y, z) -> (x, y cp + z sp,
    // -y sp + z cp); head bowing (+pitch) moves the front of the face down.
    const float Ry[3][3] = {{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}};
    const float Rp[3][3] = {{1, 0, 0}, {0, cp, sp}, {0, -sp, cp}};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        R[i][j] = 0.f;
        for (int k = 0; k < 3; ++k) R[i][j] += Rp[i][k] * Ry[k][j];
      }
    const float D[3] = {1.f, 1.f / (b * b), 1.f / (c * c)};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        Q[i][j] = 0.f;
        for (int k = 0; k < 3; ++k) Q[i][j] += R[i][k] * D[k] * R[j][k];
      }
    roll_c = std::cos(roll);
    roll_s = std::sin(roll);
  }

  float surface_z(float u, float v) const {
    return c * std::sqrt(std::max(0.f, 1.f - u * u - (v / b) * (v / b)));
  }
  void to_camera(float u, float v, float z, float& x, float& y, float& zc) const {
    x = R[0][0] * u + R[0][1] * v + R[0][2] * z;
    y = R[1][0] * u + R[1][1] * v + R[1][2] * z;
    zc = R[2][0] * u + R[2][1] * v + R[2][2] * z;
  }
  cv::Point2f camera_to_image(float x, float y) const {
    const float dy = y - pivot_y;
    const float xr = x * roll_c - dy * roll_s;
    const float yr = x * roll_s + dy * roll_c + pivot_y;
    return {px + scale * xr, py + scale * yr};
  }
  void image_to_camera(float ix, float iy, float& x, float& y) const {
    const float xr = (ix - px) / scale, yr = (iy - py) / scale - pivot_y;
    x = xr * roll_c + yr * roll_s;
    y = -xr * roll_s + yr * roll_c + pivot_y;
  }
  cv::Point2f operator()(const FP& p) const {
    float x, y, z;
    to_camera(p.u, p.v, surface_z(p.u, p.v) + p.dz, x, y, z);
    return camera_to_image(x, y);
  }
  cv::Point2f operator()(float u, float v, float dz = 0.f) const { return (*this)({u, v, dz}); }
  std::vector<cv::Point2f> operator()(const std::vector<FP>& pts) const {
    std::vector<cv::Point2f> out;
    out.reserve(pts.size());
    for (const FP& p : pts) out.push_back((*this)(p));
    return out;
  }
  // Camera-space depth of a face point (> 0 faces the viewer).
  float facing(float u, float v) const {
    float x, y, z;
    to_camera(u, v, surface_z(u, v), x, y, z);
    return z;
  }
  // The head's outline before roll: the silhouette of the rotated ellipsoid, an ellipse
  // p^T S p = 1 with S the Schur complement of the quadric's z row.
  std::vector<cv::Point2f> silhouette(int n) const {
    const float s00 = Q[0][0] - Q[0][2] * Q[0][2] / Q[2][2];
    const float s01 = Q[0][1] - Q[0][2] * Q[1][2] / Q[2][2];
    const float s11 = Q[1][1] - Q[1][2] * Q[1][2] / Q[2][2];
    std::vector<cv::Point2f> out;
    for (int i = 0; i < n; ++i) {
      const float t = 2.f * kPi * i / n;
      const float dx = std::cos(t), dy = std::sin(t);
      const float r = 1.f / std::sqrt(s00 * dx * dx + 2 * s01 * dx * dy + s11 * dy * dy);
      out.push_back({r * dx, r * dy});
    }
    return out;
  }
};

std::vector<cv::Point> fixed(const std::vector<cv::Point2f>& pts, cv::Point2f off = {}) {
  std::vector<cv::Point> out;
  out.reserve(pts.size());
  for (const auto& p : pts)
    out.emplace_back(cvRound((p.x - off.x) * kShiftScale), cvRound((p.y - off.y) * kShiftScale));
  return out;
}

void fill(cv::Mat& img, const std::vector<cv::Point2f>& poly, Rgb colour, cv::Point2f off = {}) {
  if (poly.size() < 3) return;
  const std::vector<std::vector<cv::Point>> polys{fixed(poly, off)};
  cv::fillPoly(img, polys, sc(colour), cv::LINE_AA, kShift);
}

void stroke(cv::Mat& img, const std::vector<cv::Point2f>& line, Rgb colour, float width,
            cv::Point2f off = {}) {
  if (line.size() < 2) return;
  const std::vector<std::vector<cv::Point>> lines{fixed(line, off)};
  cv::polylines(img, lines, false, sc(colour), std::max(1, cvRound(width)), cv::LINE_AA, kShift);
}

void disc(cv::Mat& img, cv::Point2f c, float r, Rgb colour, cv::Point2f off = {}) {
  cv::circle(img,
             cv::Point(cvRound((c.x - off.x) * kShiftScale), cvRound((c.y - off.y) * kShiftScale)),
             std::max(1, cvRound(r * kShiftScale)), sc(colour), cv::FILLED, cv::LINE_AA, kShift);
}

cv::Rect bounds(const std::vector<cv::Point2f>& pts, const cv::Size& size, int pad);

// A translucent line: wrinkles darken whatever lies below (blush, stubble) instead of painting
// skin colour over it.
void stroke_alpha(cv::Mat& img, const std::vector<cv::Point2f>& line, Rgb colour, float width,
                  float alpha) {
  const cv::Rect r = bounds(line, img.size(), static_cast<int>(width) + 2);
  if (r.width <= 0 || r.height <= 0 || line.size() < 2) return;
  cv::Mat roi = img(r);
  cv::Mat layer = roi.clone();
  stroke(layer, line, colour, width, cv::Point2f(static_cast<float>(r.x), static_cast<float>(r.y)));
  cv::addWeighted(layer, alpha, roi, 1.0 - alpha, 0.0, roi);
}

// A translucent area with a blurred edge (stubble shadow).
void soft_fill(cv::Mat& img, const std::vector<cv::Point2f>& poly, Rgb colour, float alpha,
               float sigma) {
  const cv::Rect r = bounds(poly, img.size(), static_cast<int>(3 * sigma) + 2);
  if (r.width <= 0 || r.height <= 0 || poly.size() < 3) return;
  cv::Mat mask = cv::Mat::zeros(r.size(), CV_32F);
  const std::vector<std::vector<cv::Point>> polys{
      fixed(poly, cv::Point2f(static_cast<float>(r.x), static_cast<float>(r.y)))};
  cv::fillPoly(mask, polys, cv::Scalar(alpha), cv::LINE_AA, kShift);
  cv::GaussianBlur(mask, mask, cv::Size(0, 0), std::max(0.5f, sigma));
  const Rgb c = clamp255(colour);
  for (int y = 0; y < r.height; ++y) {
    auto* row = img.ptr<cv::Vec3b>(r.y + y) + r.x;
    const float* m = mask.ptr<float>(y);
    for (int x = 0; x < r.width; ++x) {
      if (m[x] <= 0.f) continue;
      row[x][0] = cv::saturate_cast<uchar>(row[x][0] + (c.r - row[x][0]) * m[x]);
      row[x][1] = cv::saturate_cast<uchar>(row[x][1] + (c.g - row[x][1]) * m[x]);
      row[x][2] = cv::saturate_cast<uchar>(row[x][2] + (c.b - row[x][2]) * m[x]);
    }
  }
}

cv::Rect bounds(const std::vector<cv::Point2f>& pts, const cv::Size& size, int pad) {
  if (pts.empty()) return {};
  float x0 = pts[0].x, x1 = x0, y0 = pts[0].y, y1 = y0;
  for (const auto& p : pts) {
    x0 = std::min(x0, p.x);
    x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y);
    y1 = std::max(y1, p.y);
  }
  cv::Rect r(static_cast<int>(std::floor(x0)) - pad, static_cast<int>(std::floor(y0)) - pad,
             static_cast<int>(std::ceil(x1 - x0)) + 2 * pad + 1,
             static_cast<int>(std::ceil(y1 - y0)) + 2 * pad + 1);
  return r & cv::Rect(0, 0, size.width, size.height);
}

// Draws with `fn(layer, offset)` but keeps only what falls inside `clip` (anti-aliased edge):
// irises inside the eye opening, teeth inside the mouth, strands inside the hair.
template <class Fn>
void draw_clipped(cv::Mat& canvas, const std::vector<cv::Point2f>& clip, Fn&& fn) {
  const cv::Rect r = bounds(clip, canvas.size(), 2);
  if (r.width <= 0 || r.height <= 0 || clip.size() < 3) return;
  cv::Mat roi = canvas(r);
  cv::Mat layer = roi.clone();
  const cv::Point2f off(static_cast<float>(r.x), static_cast<float>(r.y));
  fn(layer, off);
  cv::Mat mask = cv::Mat::zeros(r.size(), CV_8U);
  const std::vector<std::vector<cv::Point>> polys{fixed(clip, off)};
  cv::fillPoly(mask, polys, cv::Scalar(255), cv::LINE_AA, kShift);
  for (int y = 0; y < r.height; ++y) {
    auto* dst = roi.ptr<cv::Vec3b>(y);
    const auto* src = layer.ptr<cv::Vec3b>(y);
    const auto* m = mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < r.width; ++x) {
      if (m[x] == 0) continue;
      if (m[x] == 255) {
        dst[x] = src[x];
        continue;
      }
      for (int c = 0; c < 3; ++c)
        dst[x][c] =
            static_cast<std::uint8_t>((src[x][c] * m[x] + dst[x][c] * (255 - m[x]) + 127) / 255);
    }
  }
}

// An ellipse in face coordinates lifted onto the head surface.
std::vector<FP> face_ellipse(float cu, float cv, float ru, float rv, float dz, int n = 32) {
  std::vector<FP> out;
  for (int i = 0; i < n; ++i) {
    const float t = 2.f * kPi * i / n;
    out.push_back({cu + ru * std::cos(t), cv + rv * std::sin(t), dz});
  }
  return out;
}

}  // namespace

// Everything a frame draws, already in canvas pixels.
struct FaceRenderer::Frame {
  Projector P;
  float unit = 1.f;  // canvas pixels per face unit
  std::vector<cv::Point2f> head;
  std::vector<cv::Point2f> neck, torso, neckline;
  cv::Point2f chin_shadow_c;
  cv::Size2f chin_shadow_r;
  struct Ear {
    bool visible = false;
    cv::Point2f c;
    cv::Size2f r;
    float angle = 0.f;
  } ears[2];
  std::vector<cv::Point2f> hair_back, hair_cap;
  bool bun = false;
  cv::Point2f bun_c;
  float bun_r = 0.f;
  struct Eye {
    std::vector<cv::Point2f> opening, upper, lower, crease, lid;
    cv::Point2f iris;
    float iris_r = 0.f;
  } eyes[2];
  std::vector<cv::Point2f> brows[2];
  struct Line {
    std::vector<cv::Point2f> pts;
    float alpha;  // how dark, 0..1
    float width;  // face units
  };
  std::vector<Line> creases;  // wrinkles and folds, darkening what lies below
  struct Blob {
    std::vector<cv::Point2f> poly;
    Rgb colour;
  };
  std::vector<Blob> skin_marks;  // blush, highlights, lid shadow (drawn before features)
  std::vector<cv::Point2f> stubble;
  std::vector<cv::Point2f> nostrils[2];
  std::vector<cv::Point2f> alae[2];
  std::vector<cv::Point2f> upper_lip, lower_lip, mouth_inside, mouth_line, teeth_upper, teeth_lower,
      tongue;
  std::vector<cv::Point2f> lip_highlight;
  std::vector<cv::Point2f> glasses[2], glasses_bridge, glasses_temples[2];
  Landmarks lm;
};

Identity sample_identity(std::uint64_t seed) {
  Rng r(seed, Stream::kIdentity);
  Identity id;
  id.seed = mix_seed(seed, 0x68616972);
  id.aspect = r.uniform(1.22f, 1.42f);
  id.depth = r.uniform(0.85f, 1.f);
  id.jaw = r.uniform(0.15f, 0.8f);
  static const Rgb kSkin[] = {{246, 224, 210}, {238, 205, 180}, {225, 184, 153}, {205, 160, 125},
                              {176, 126, 92},  {140, 96, 66},   {104, 70, 50},   {78, 54, 40}};
  const float st = r.uniform(0.f, 7.f);
  const int si = std::min(static_cast<int>(st), 6);
  id.skin = mix(kSkin[si], kSkin[si + 1], st - si);
  id.skin = {id.skin.r * r.uniform(0.96f, 1.04f), id.skin.g * r.uniform(0.96f, 1.03f),
             id.skin.b * r.uniform(0.95f, 1.04f)};
  id.lip = mix(mul(id.skin, 0.86f), rgb(176, 78, 82), r.uniform(0.25f, 0.45f));
  id.eye_x = r.uniform(0.34f, 0.41f);
  id.eye_y = r.uniform(-0.04f, 0.04f);
  id.eye_w = r.uniform(0.16f, 0.2f);
  id.eye_h = id.eye_w * r.uniform(0.36f, 0.46f);
  id.eye_tilt = r.uniform(-0.005f, 0.025f);
  id.brow_y = id.eye_y - r.uniform(0.2f, 0.26f);
  id.brow_thick = r.uniform(0.035f, 0.065f);
  id.brow_arch = r.uniform(0.02f, 0.06f);
  id.brow_inner = r.uniform(0.07f, 0.12f);
  id.brow_len = r.uniform(0.42f, 0.5f);
  id.nose_y = r.uniform(0.36f, 0.44f);
  id.nose_w = r.uniform(0.12f, 0.17f);
  id.mouth_y = id.nose_y + r.uniform(0.24f, 0.3f);
  id.mouth_w = r.uniform(0.3f, 0.37f);
  id.lip_upper = r.uniform(0.045f, 0.07f);
  id.lip_lower = r.uniform(0.06f, 0.09f);
  id.fold = r.uniform(0.05f, 0.3f);
  id.blush = r.uniform(0.04f, 0.25f);
  id.ear = r.uniform(0.85f, 1.15f);

  static const struct {
    Rgb colour;
    const char* name;
  } kHair[] = {{{28, 24, 22}, "black"},   {{58, 40, 28}, "dark brown"}, {{98, 68, 44}, "brown"},
               {{128, 60, 34}, "auburn"}, {{196, 164, 106}, "blond"},   {{146, 144, 140}, "grey"},
               {{212, 208, 200}, "white"}};
  const int hi = r.index(7);
  id.hair = mul(kHair[hi].colour, r.uniform(0.9f, 1.1f));
  id.brow = hi >= 4 ? mul(id.hair, 0.6f) : mul(id.hair, 0.85f);
  static const Rgb kIris[] = {{92, 58, 32},  {58, 38, 24},   {118, 94, 52},
                              {82, 112, 72}, {78, 118, 160}, {108, 118, 128}};
  id.iris = kIris[r.index(6)];
  id.clothes = hsv(r.uniform(0.f, 360.f), r.uniform(0.1f, 0.7f), r.uniform(0.15f, 0.85f));

  const float style = r.uniform(0.f, 1.f);
  const std::string hair = kHair[hi].name;
  if (style < 0.08f) {
    id.hair_style = HairStyle::kBald;
    id.hair_words = "a shaved head";
  } else if (style < 0.4f) {
    id.hair_style = HairStyle::kShort;
    id.hair_words = "short " + hair + " hair";
  } else if (style < 0.55f) {
    id.hair_style = HairStyle::kBangs;
    id.hair_words = hair + " hair with a fringe";
  } else if (style < 0.8f) {
    id.hair_style = HairStyle::kLong;
    id.hair_words = "long " + hair + " hair";
  } else if (style < 0.92f) {
    id.hair_style = HairStyle::kCurly;
    id.hair_words = "curly " + hair + " hair";
  } else {
    id.hair_style = HairStyle::kBun;
    id.hair_words = hair + " hair tied in a bun";
  }
  id.hairline =
      id.hair_style == HairStyle::kBangs ? r.uniform(-0.5f, -0.4f) : r.uniform(-0.9f, -0.72f);
  id.hair_volume = r.uniform(0.04f, 0.13f);
  if (id.hair_style == HairStyle::kCurly) id.hair_volume += 0.06f;
  id.glasses = r.chance(0.12);
  static const Rgb kFrames[] = {{20, 20, 22}, {70, 45, 30}, {150, 120, 60}, {90, 90, 100}};
  id.glasses_colour = kFrames[r.index(4)];
  if (r.chance(0.15)) id.stubble = r.uniform(0.15f, 0.35f);
  std::vector<std::string> extras;
  if (id.glasses) extras.push_back("glasses");
  if (id.stubble > 0.f) extras.push_back("stubble");
  for (std::size_t i = 0; i < extras.size(); ++i) id.extra_words += (i ? " and " : "") + extras[i];
  return id;
}

Scene sample_scene(std::uint64_t seed, bool camera_effects) {
  Rng r(seed, Stream::kScene);
  Scene s;
  s.cx = r.uniform(0.42f, 0.58f);
  s.cy = r.uniform(0.43f, 0.52f);
  s.scale = r.uniform(0.24f, 0.31f);
  s.yaw = std::clamp(r.normal(0.f, 10.f), -26.f, 26.f);
  s.pitch = std::clamp(r.normal(0.f, 5.f), -12.f, 12.f);
  s.roll = std::clamp(r.normal(0.f, 4.f), -12.f, 12.f);
  s.light_x = r.uniform(-0.7f, 0.7f);
  s.light_y = r.uniform(-0.7f, 0.15f);
  s.ambient = r.uniform(0.45f, 0.75f);
  s.background = static_cast<Background>(r.index(6));
  const float h = r.uniform(0.f, 360.f), sat = r.uniform(0.05f, 0.5f), val = r.uniform(0.25f, 0.9f);
  s.bg_a = hsv(h, sat, val);
  s.bg_b = hsv(h + r.uniform(-40.f, 40.f), std::clamp(sat + r.uniform(-0.2f, 0.2f), 0.f, 1.f),
               std::clamp(val + r.uniform(-0.35f, 0.35f), 0.1f, 1.f));
  const std::string colour = colour_name(h, sat, val);
  switch (s.background) {
    case Background::kSolid:
      s.background_words = "against a plain " + colour + " background";
      break;
    case Background::kGradient:
      s.background_words = "against a " + colour + " backdrop";
      break;
    case Background::kTexture:
      s.background_words = "in front of a mottled " + colour + " wall";
      break;
    case Background::kRoom:
      s.background_words = "in a room with " + colour + " walls";
      break;
    case Background::kStripes:
      s.background_words = "in front of a striped " + colour + " wall";
      break;
    case Background::kBokeh:
      s.background_words = "with blurred lights behind";
      break;
  }
  // Drawn even without camera effects so that the stream stays aligned.
  const float brightness = r.uniform(0.72f, 1.15f);
  const float gradient = r.uniform(0.f, 0.45f);
  const float angle = r.uniform(0.f, 2.f * kPi);
  const float warmth = r.uniform(-1.f, 1.f);
  const float noise = r.uniform(0.f, 6.f);
  const float blur = r.chance(0.4) ? r.uniform(0.3f, 0.9f) : 0.f;
  if (camera_effects) {
    s.brightness = brightness;
    s.gradient = gradient;
    s.gradient_angle = angle;
    s.tint = {1.f + 0.06f * warmth, 1.f, 1.f - 0.07f * warmth};
    s.noise_sigma = noise;
    s.blur_sigma = blur;
    if (brightness < 0.84f)
      s.light_words = "in dim light";
    else if (brightness > 1.08f)
      s.light_words = "in bright light";
  }
  if (s.light_words.empty() && std::abs(s.light_x) > 0.45f)
    s.light_words = s.light_x < 0 ? "lit from the left" : "lit from the right";
  return s;
}

namespace {

cv::Mat make_background(const Scene& s, int n, std::uint64_t seed) {
  // Its own stream: background details must not shift when sample_scene draws more values.
  Rng r(mix_seed(seed, 0x6267), Stream::kScene);
  cv::Mat bg(n, n, CV_8UC3, sc(s.bg_a));
  const auto grad = [&](float angle, float k) {
    const float ca = std::cos(angle), sa = std::sin(angle);
    for (int y = 0; y < n; ++y) {
      auto* row = bg.ptr<cv::Vec3b>(y);
      for (int x = 0; x < n; ++x) {
        const float t = std::clamp(
            0.5f + k * ((x / float(n) - 0.5f) * ca + (y / float(n) - 0.5f) * sa), 0.f, 1.f);
        const Rgb c = clamp255(mix(s.bg_a, s.bg_b, t));
        row[x] = cv::Vec3b(cv::saturate_cast<uchar>(c.r), cv::saturate_cast<uchar>(c.g),
                           cv::saturate_cast<uchar>(c.b));
      }
    }
  };
  switch (s.background) {
    case Background::kSolid:
      break;
    case Background::kGradient:
      grad(r.uniform(0.f, 2.f * kPi), r.uniform(0.8f, 1.4f));
      break;
    case Background::kTexture: {
      const int cells = 4 + r.index(12);
      cv::Mat coarse(cells, cells, CV_32F);
      for (int y = 0; y < cells; ++y)
        for (int x = 0; x < cells; ++x) coarse.at<float>(y, x) = static_cast<float>(r.uniform());
      cv::Mat fine;
      cv::resize(coarse, fine, cv::Size(n, n), 0, 0, cv::INTER_CUBIC);
      for (int y = 0; y < n; ++y) {
        auto* row = bg.ptr<cv::Vec3b>(y);
        const float* v = fine.ptr<float>(y);
        for (int x = 0; x < n; ++x) {
          const Rgb c = clamp255(mix(s.bg_a, s.bg_b, std::clamp(v[x], 0.f, 1.f)));
          row[x] = cv::Vec3b(cv::saturate_cast<uchar>(c.r), cv::saturate_cast<uchar>(c.g),
                             cv::saturate_cast<uchar>(c.b));
        }
      }
      break;
    }
    case Background::kRoom: {
      grad(kPi / 2, 0.5f);
      // A window or door and a skirting line, out of focus behind the person.
      const float wx = r.uniform(0.f, 0.7f) * n, wy = r.uniform(0.05f, 0.3f) * n;
      const float ww = r.uniform(0.15f, 0.35f) * n, wh = r.uniform(0.3f, 0.6f) * n;
      const Rgb light = clamp255(mix(s.bg_b, rgb(235, 240, 245), 0.6f));
      cv::rectangle(bg, cv::Rect(cvRound(wx), cvRound(wy), cvRound(ww), cvRound(wh)),
                    sc(mul(s.bg_a, 0.7f)), cv::FILLED);
      cv::rectangle(bg,
                    cv::Rect(cvRound(wx + 0.06f * ww), cvRound(wy + 0.06f * ww),
                             cvRound(0.88f * ww), cvRound(wh - 0.12f * ww)),
                    sc(light), cv::FILLED);
      const int floor_y = cvRound(r.uniform(0.7f, 0.9f) * n);
      cv::rectangle(bg, cv::Rect(0, floor_y, n, n - floor_y), sc(mul(s.bg_b, 0.75f)), cv::FILLED);
      cv::GaussianBlur(bg, bg, cv::Size(0, 0), n / 80.0);
      break;
    }
    case Background::kStripes: {
      const int period = std::max(4, cvRound(r.uniform(0.05f, 0.15f) * n));
      for (int x = 0; x < n; x += period)
        cv::rectangle(bg, cv::Rect(x, 0, period / 2, n), sc(s.bg_b), cv::FILLED);
      cv::GaussianBlur(bg, bg, cv::Size(0, 0), n / 200.0);
      break;
    }
    case Background::kBokeh: {
      grad(r.uniform(0.f, 2.f * kPi), 0.8f);
      const int count = 8 + r.index(12);
      for (int i = 0; i < count; ++i) {
        const Rgb c = hsv(r.uniform(0.f, 360.f), r.uniform(0.1f, 0.6f), r.uniform(0.6f, 1.f));
        cv::circle(bg, cv::Point(cvRound(r.uniform() * n), cvRound(r.uniform() * n)),
                   cvRound(r.uniform(0.03f, 0.1f) * n), sc(mix(s.bg_a, c, 0.6f)), cv::FILLED,
                   cv::LINE_AA);
      }
      cv::GaussianBlur(bg, bg, cv::Size(0, 0), n / 60.0);
      break;
    }
  }
  return bg;
}

}  // namespace

FaceRenderer::FaceRenderer(const Identity& identity, const Scene& scene, int size,
                           std::uint64_t seed)
    : id_(identity), scene_(scene), size_(size), ss_(size <= 512 ? 2 : 1) {
  background_ = make_background(scene_, size_ * ss_, seed);
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

FaceRenderer::Frame FaceRenderer::layout(const FaceActions& a, Point drift) const {
  Frame f;
  const Identity& id = id_;
  const float canvas = static_cast<float>(size_ * ss_);
  const float b = id.aspect;
  Projector& P = f.P;
  P.b = b;
  P.c = id.depth;
  const float yaw = rad(scene_.yaw + a[A::kHeadYaw]);
  const float pitch = rad(scene_.pitch + a[A::kHeadPitch]);
  const float roll = rad(scene_.roll + a[A::kHeadRoll]);
  P.setup(yaw, pitch, roll);
  P.pivot_y = 0.9f * b;  // the head tilts about the top of the neck
  P.scale = scene_.scale * canvas;
  P.px = (scene_.cx + drift.x * scene_.scale) * canvas;
  // A bowed head also sinks a little towards the chest.
  P.py = (scene_.cy + drift.y * scene_.scale) * canvas + 0.15f * std::sin(pitch) * P.scale;
  f.unit = P.scale;

  // --- Head outline: ellipsoid silhouette, narrowed at the jaw, chin lowered by an open jaw.
  const float jaw = pos(a[A::kJawDrop]);
  float mx, my, mz;
  P.to_camera(0.f, id.mouth_y, P.surface_z(0.f, id.mouth_y), mx, my, mz);
  std::vector<cv::Point2f> sil = P.silhouette(120);
  float ymax = 0.f;
  for (const auto& p : sil) ymax = std::max(ymax, p.y);
  const float jaw_top = 0.2f * b;
  for (auto& p : sil) {
    if (p.y > jaw_top) {
      float cx, cy, cz;
      P.to_camera(0.f, p.y, P.surface_z(0.f, std::min(p.y, b)), cx, cy, cz);
      const float k = smooth((p.y - jaw_top) / (ymax - jaw_top));
      p.x = cx + (p.x - cx) * (1.f - id.jaw * 0.3f * std::pow(k, 1.4f));
    }
    if (p.y > my) p.y += jaw * 0.17f * smooth((p.y - my) / (ymax - my));
  }
  for (const auto& p : sil) f.head.push_back(P.camera_to_image(p.x, p.y));
  const auto lowest = std::max_element(
      sil.begin(), sil.end(), [](const cv::Point2f& p, const cv::Point2f& q) { return p.y < q.y; });
  const cv::Point2f chin_px = P.camera_to_image(lowest->x, lowest->y);
  f.lm[static_cast<int>(Landmark::kChin)] = {chin_px.x, chin_px.y};

  // --- Body: neck and shoulders stay upright when the head rolls or bows.
  const cv::Point2f base(P.px, (scene_.cy + drift.y * scene_.scale) * canvas);
  const auto body = [&](float x, float y) { return base + cv::Point2f(x, y) * P.scale; };
  f.torso = {body(-2.3f, b + 2.6f), body(-2.2f, b + 1.25f), body(-1.5f, b + 0.78f),
             body(-0.6f, b + 0.6f), body(0.6f, b + 0.6f),   body(1.5f, b + 0.78f),
             body(2.2f, b + 1.25f), body(2.3f, b + 2.6f)};
  f.neckline = {body(-0.5f, b + 0.62f), body(-0.3f, b + 0.95f), body(0.f, b + 1.05f),
                body(0.3f, b + 0.95f), body(0.5f, b + 0.62f)};
  f.neck = {body(-0.44f, 0.45f * b), body(-0.48f, b + 0.5f), body(-0.6f, b + 0.68f),
            body(0.6f, b + 0.68f),   body(0.48f, b + 0.5f),  body(0.44f, 0.45f * b)};
  f.chin_shadow_c = P.camera_to_image(0.f, 0.86f * b + jaw * 0.15f);
  f.chin_shadow_r = cv::Size2f(0.36f * P.scale, 0.2f * P.scale);

  // --- Ears at the sides; the one turned away hides behind the head.
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    Frame::Ear& e = f.ears[i];
    float x, y, z;
    P.to_camera(s * 0.98f, 0.08f * b, 0.f, x, y, z);
    const float turn = -s * std::sin(yaw);  // > 0: ear turned towards the viewer
    e.visible = turn > -0.45f;
    e.c = P.camera_to_image(x + s * 0.04f * std::cos(yaw), y);
    e.r = cv::Size2f((0.1f + 0.1f * pos(turn + 0.3f)) * id.ear * P.scale, 0.22f * id.ear * P.scale);
    e.angle = roll * 180.f / kPi + s * 8.f;
  }

  // --- Hair.
  const float vol = 1.f + id.hair_volume;
  const float side_v = id.eye_y - 0.04f;
  if (id.hair_style != HairStyle::kBald) {
    std::vector<FP> line;
    for (int i = 0; i <= 40; ++i) {
      const float u = 0.98f - 1.96f * i / 40.f;  // right to left
      float v = id.hairline + (side_v - id.hairline) * std::pow(std::abs(u), 2.4f);
      if (id.hair_style == HairStyle::kBangs) v += 0.035f * std::abs(std::sin(u * 19.f));
      if (id.hair_style == HairStyle::kCurly) v -= 0.02f * std::abs(std::sin(u * 13.f));
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
      const int k =
          static_cast<int>(std::lround((t < 0 ? t + 2 * kPi : t) / (2 * kPi) * 240)) % 240;
      float rr = std::hypot(outline[k].x, outline[k].y) * vol;
      if (id.hair_style == HairStyle::kCurly) rr += 0.05f * std::abs(std::sin(t * 9.f));
      arc.push_back(P.camera_to_image(rr * std::cos(t), rr * std::sin(t)));
    }
    f.hair_cap = arc;
    for (const FP& p : line) f.hair_cap.push_back(P(p));
    if (id.hair_style == HairStyle::kLong) {
      const float w = 1.08f + id.hair_volume, bottom = b + 0.85f;
      std::vector<cv::Point2f> back;
      for (int i = 0; i <= 20; ++i) {  // over the top
        const float t = kPi + kPi * i / 20.f;
        back.push_back({w * 1.04f * std::cos(t), (b + id.hair_volume) * std::sin(t)});
      }
      back.push_back({w + 0.06f, 0.5f * b});
      back.push_back({w + 0.18f, bottom});
      back.push_back({-w - 0.18f, bottom});
      back.push_back({-w - 0.06f, 0.5f * b});
      for (auto& p : back) f.hair_back.push_back(P.camera_to_image(p.x, p.y));
    }
    if (id.hair_style == HairStyle::kBun) {
      f.bun = true;
      f.bun_c = P.camera_to_image(0.f, -b - 0.12f);
      f.bun_r = 0.34f * P.scale;
    }
  }

  // --- Eyes.
  const float lid = a[A::kLidOpen], blink = std::clamp(a[A::kBlink], 0.f, 1.f);
  const float cheek = pos(a[A::kCheekRaise]);
  const float gx = std::clamp(a[A::kGazeX], -1.2f, 1.2f),
              gy = std::clamp(a[A::kGazeY], -1.2f, 1.2f);
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    Frame::Eye& e = f.eyes[i];
    const FP inner{s * (id.eye_x - id.eye_w), id.eye_y + 0.005f, -0.02f};
    const FP outer{s * (id.eye_x + id.eye_w), id.eye_y - id.eye_tilt, -0.02f};
    float up =
        id.eye_h * (1.f + 0.6f * pos(lid) - 0.5f * neg(lid) - 0.18f * pos(gy) + 0.12f * neg(gy));
    const float lo = 0.75f * id.eye_h * (1.f - 0.5f * cheek - 0.22f * neg(lid) + 0.2f * pos(lid));
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
      const float crease_h = id.eye_h * (1.55f + 0.4f * pos(lid)) - 0.25f * id.eye_h * neg(lid);
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
    const float iu = s * id.eye_x + gx * 0.55f * id.eye_w;
    const float iv = id.eye_y + gy * 0.35f * id.eye_h;
    e.iris = P(iu, iv, -0.01f);
    e.iris_r = 0.4f * id.eye_w * P.scale;
    const int li = i == 0 ? 0 : 3;
    f.lm[static_cast<int>(Landmark::kEyeTopLeft) + li] = {e.upper[7].x, e.upper[7].y};
    f.lm[static_cast<int>(Landmark::kEyeBottomLeft) + li] = {e.lower[9].x, e.lower[9].y};
    f.lm[static_cast<int>(Landmark::kIrisLeft) + li] = {e.iris.x, e.iris.y};
  }

  // --- Brows.
  const float raise = a[A::kBrowRaise], inner_raise = pos(a[A::kBrowInnerRaise]),
              draw = pos(a[A::kBrowDraw]);
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    std::vector<FP> top, bottom, mid;
    for (int k = 0; k <= 14; ++k) {
      const float t = k / 14.f;
      float u = s * (id.brow_inner + id.brow_len * t);
      float v = id.brow_y - id.brow_arch * std::sin(kPi * std::pow(t, 1.3f)) + 0.03f * t * t;
      v += -0.11f * raise - 0.03f * pos(raise) * std::sin(kPi * t);
      v += -0.13f * inner_raise * std::pow(1.f - t, 1.6f);
      v += 0.075f * draw * std::pow(1.f - t, 1.3f) + 0.015f * draw;
      u += -s * 0.055f * draw * std::pow(1.f - t, 1.5f);
      const float th = id.brow_thick * (1.05f - 0.6f * std::pow(t, 1.5f));
      top.push_back({u, v - th * 0.5f, 0.01f});
      bottom.push_back({u, v + th * 0.5f, 0.01f});
      mid.push_back({u, v, 0.01f});
    }
    f.brows[i] = P(top);
    for (auto it = bottom.rbegin(); it != bottom.rend(); ++it) f.brows[i].push_back(P(*it));
    const int li = i == 0 ? 0 : 3;
    const cv::Point2f in = P(mid[0]), peak = P(mid[8]), out = P(mid[14]);
    f.lm[static_cast<int>(Landmark::kBrowInnerLeft) + li] = {in.x, in.y};
    f.lm[static_cast<int>(Landmark::kBrowPeakLeft) + li] = {peak.x, peak.y};
    f.lm[static_cast<int>(Landmark::kBrowOuterLeft) + li] = {out.x, out.y};
    // Vertical furrows between drawn brows.
    if (draw > 0.2f) {
      const float fu = s * (0.045f + 0.01f * (1 - draw));
      f.creases.push_back({P(catmull_rom({{fu, id.brow_y - 0.03f, 0.f},
                                          {fu - s * 0.01f, id.brow_y + 0.04f, 0.f},
                                          {fu - s * 0.005f, id.brow_y + 0.1f, 0.f}},
                                         6)),
                           0.7f * (draw - 0.2f), 0.016f});
    }
  }
  // Forehead lines: full width when the whole brow rises, in the middle for the inner brow.
  if (raise > 0.25f || inner_raise > 0.3f) {
    const float full = std::clamp((raise - 0.25f) / 0.6f, 0.f, 1.f);
    const float centre = std::clamp((inner_raise - 0.3f) / 0.6f, 0.f, 1.f);
    for (int k = 0; k < 3; ++k) {
      const float v = id.brow_y - 0.14f - 0.075f * k - 0.05f * pos(raise);
      if (v < id.hairline + 0.04f) continue;
      const float half = 0.16f + 0.3f * full;
      std::vector<FP> c;
      for (int j = 0; j <= 10; ++j) {
        const float u = -half + 2 * half * j / 10.f;
        const float bend =
            full >= centre ? 0.02f * (u / half) * (u / half) : -0.03f * (u / half) * (u / half);
        c.push_back({u, v + bend, 0.f});
      }
      f.creases.push_back({P(c), 0.45f * std::max(full, centre), 0.013f});
    }
  }

  // --- Nose.
  const float wrinkle = pos(a[A::kNoseWrinkle]);
  const float nw = id.nose_w * (1.f + 0.12f * wrinkle);
  const float lift = 0.035f * wrinkle + 0.01f * pos(a[A::kUpperLipRaise]);
  const FP tip{0.f, id.nose_y, 0.3f};
  const cv::Point2f tip_px = P(tip);
  f.lm[static_cast<int>(Landmark::kNoseTip)] = {tip_px.x, tip_px.y};
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    std::vector<FP> ns =
        face_ellipse(s * 0.42f * nw, id.nose_y + 0.045f - lift, 0.34f * nw, 0.15f * nw, 0.17f, 20);
    for (FP& p : ns) {  // tilt the nostril: outer end higher
      p.v -= 0.3f * (p.u - s * 0.42f * nw) * s;
    }
    f.nostrils[i] = P(ns);
    f.alae[i] = P(catmull_rom({{s * 0.55f * nw, id.nose_y - 0.09f - lift, 0.16f},
                               {s * 1.0f * nw, id.nose_y - 0.015f - lift, 0.1f},
                               {s * 0.95f * nw, id.nose_y + 0.045f - lift, 0.1f},
                               {s * 0.62f * nw, id.nose_y + 0.07f - lift, 0.14f}},
                              6));
  }
  const float shadow_side = scene_.light_x < 0 ? 1.f : -1.f;
  f.creases.push_back({P(catmull_rom({{shadow_side * 0.075f, id.eye_y + 0.05f, 0.1f},
                                      {shadow_side * 0.095f, id.nose_y - 0.13f, 0.2f},
                                      {shadow_side * 0.6f * nw, id.nose_y - 0.08f, 0.2f}},
                                     8)),
                       0.22f, 0.035f});
  f.creases.push_back({P(catmull_rom({{-0.28f * nw, id.nose_y + 0.075f - lift, 0.22f},
                                      {0.f, id.nose_y + 0.09f - lift, 0.25f},
                                      {0.28f * nw, id.nose_y + 0.075f - lift, 0.22f}},
                                     6)),
                       0.3f, 0.018f});
  if (wrinkle > 0.15f) {
    for (int k = 0; k < 3; ++k) {
      const float v = id.eye_y + 0.07f + 0.035f * k;
      f.creases.push_back(
          {P(catmull_rom(
               {{-0.075f, v + 0.01f, 0.1f}, {0.f, v - 0.008f, 0.12f}, {0.075f, v + 0.01f, 0.1f}},
               5)),
           0.6f * wrinkle, 0.014f});
    }
  }
  f.skin_marks.push_back(
      {P(face_ellipse(-scene_.light_x * 0.03f, id.nose_y - 0.03f, 0.035f, 0.045f, 0.3f, 16)),
       mul(id.skin, 1.1f)});

  // --- Mouth.
  const float cl = a[A::kLipCornerLeft], cr = a[A::kLipCornerRight];
  const float stretch = a[A::kLipStretch], press = pos(a[A::kLipPress]);
  const float ulr = pos(a[A::kUpperLipRaise]), chin = pos(a[A::kChinRaise]);
  const float pull = 0.5f * (pos(cl) + pos(cr));
  const auto corner = [&](float c, float s) -> FP {
    const float w = id.mouth_w * (1.f + 0.16f * pos(c) + 0.22f * pos(stretch) -
                                  0.3f * neg(stretch) - 0.08f * press + 0.05f * jaw);
    const float v =
        id.mouth_y - 0.1f * pos(c) + 0.08f * neg(c) - 0.015f * pos(stretch) + 0.03f * jaw;
    return {s * w, v, 0.03f};
  };
  const FP L = corner(cl, -1.f), Rr = corner(cr, 1.f);
  const float vm = id.mouth_y + 0.012f * pull - 0.03f * chin + 0.01f * ulr;
  // Quadratic through the corners and the centre of the lip line.
  const auto line_at = [&](float t) -> FP {
    const float l0 = 2 * (t - 0.5f) * (t - 1.f), l1 = -4 * t * (t - 1.f), l2 = 2 * t * (t - 0.5f);
    return {L.u * l0 + 0.f * l1 + Rr.u * l2, L.v * l0 + vm * l1 + Rr.v * l2, 0.f};
  };
  const float open = 0.3f * jaw + 0.025f * pos(stretch) + 0.045f * ulr;
  const float gap_up = 0.28f * open + 0.04f * ulr;
  const float gap_down = 0.72f * open;
  const float tu = id.lip_upper * (1.f - 0.7f * press) * (1.f + 0.15f * ulr) * (1.f - 0.25f * pull);
  const float tl =
      id.lip_lower * (1.f - 0.65f * press) * (1.f + 0.25f * chin) * (1.f - 0.2f * pull);
  std::vector<FP> up_in, up_out, lo_in, lo_out, mid;
  const int N = 24;
  for (int k = 0; k <= N; ++k) {
    const float t = k / float(N);
    const FP m = line_at(t);
    const float w = std::max(0.f, 1.f - (2 * t - 1) * (2 * t - 1));
    const float wo = std::pow(w, 0.7f);
    const float dz = 0.05f + 0.04f * w + 0.03f * chin;
    const float bow = std::exp(-std::pow((t - 0.5f) / 0.07f, 2.f));
    const float ui = m.v - gap_up * wo;
    const float li = m.v + gap_down * wo;
    up_in.push_back({m.u, ui, dz});
    lo_in.push_back({m.u, li, dz});
    up_out.push_back({m.u, ui - tu * (0.25f + 0.75f * std::sqrt(w)) * (1.f - 0.28f * bow), dz});
    lo_out.push_back({m.u, li + tl * (0.2f + 0.8f * std::pow(w, 0.6f)), dz});
    mid.push_back({m.u, m.v, dz});
  }
  const auto proj_rev = [&](std::vector<cv::Point2f>& dst, const std::vector<FP>& src) {
    for (auto it = src.rbegin(); it != src.rend(); ++it) dst.push_back(P(*it));
  };
  f.upper_lip = P(up_out);
  proj_rev(f.upper_lip, up_in);
  f.lower_lip = P(lo_in);
  proj_rev(f.lower_lip, lo_out);
  f.mouth_line = P(mid);
  if (open > 0.012f) {
    f.mouth_inside = P(up_in);
    proj_rev(f.mouth_inside, lo_in);
    // Upper teeth hang from the upper lip, lower teeth show once the mouth is well open.
    std::vector<FP> tu_pts, tl_pts;
    for (int k = 2; k <= N - 2; ++k)
      tu_pts.push_back({up_in[k].u, up_in[k].v - 0.01f, up_in[k].dz});
    for (int k = N - 2; k >= 2; --k)
      tu_pts.push_back({up_in[k].u, up_in[k].v + 0.055f, up_in[k].dz});
    f.teeth_upper = P(tu_pts);
    if (open > 0.12f) {
      for (int k = 3; k <= N - 3; ++k)
        tl_pts.push_back({lo_in[k].u, lo_in[k].v + 0.01f, lo_in[k].dz});
      for (int k = N - 3; k >= 3; --k)
        tl_pts.push_back({lo_in[k].u, lo_in[k].v - 0.035f, lo_in[k].dz});
      f.teeth_lower = P(tl_pts);
    }
    f.tongue = P(face_ellipse(0.f, lo_in[N / 2].v + 0.01f, 0.6f * id.mouth_w, 0.06f, 0.05f, 20));
  }
  {
    std::vector<FP> hl;
    for (int k = 8; k <= 16; ++k)
      hl.push_back({lo_out[k].u, (lo_in[k].v + 2 * lo_out[k].v) / 3.f - 0.005f, lo_out[k].dz});
    f.lip_highlight = P(hl);
  }
  const cv::Point2f pl = P(L), pr = P(Rr);
  f.lm[static_cast<int>(Landmark::kMouthCornerLeft)] = {pl.x, pl.y};
  f.lm[static_cast<int>(Landmark::kMouthCornerRight)] = {pr.x, pr.y};
  const auto lmp = [&](Landmark l, const FP& p) {
    const cv::Point2f q = P(p);
    f.lm[static_cast<int>(l)] = {q.x, q.y};
  };
  lmp(Landmark::kUpperLipTop, up_out[N / 2]);
  lmp(Landmark::kUpperLipInner, up_in[N / 2]);
  lmp(Landmark::kLowerLipInner, lo_in[N / 2]);
  lmp(Landmark::kLowerLipBottom, lo_out[N / 2]);

  // Nasolabial folds from the nose wings to beyond the mouth corners.
  const float fold = std::clamp(
      id.fold + 0.5f * cheek + 0.4f * wrinkle + 0.35f * ulr + 0.3f * pull + 0.2f * pos(stretch),
      0.f, 0.85f);
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    const FP& c = i == 0 ? L : Rr;
    f.creases.push_back({P(catmull_rom({{s * (nw + 0.03f), id.nose_y - 0.04f - lift, 0.05f},
                                        {s * (nw + 0.1f + 0.05f * cheek), id.nose_y + 0.12f, 0.02f},
                                        {c.u + s * 0.07f, c.v + 0.06f, 0.f}},
                                       8)),
                         fold, 0.022f});
  }
  // Mouth-corner marks: dimple of a one-sided smile, tension of pressed lips.
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    const float c = i == 0 ? cl : cr, other = i == 0 ? cr : cl;
    const FP& k = i == 0 ? L : Rr;
    const float dimple = std::clamp((c - other - 0.35f) * 1.2f, 0.f, 0.7f) + 0.5f * press;
    if (dimple > 0.05f)
      f.creases.push_back({P(catmull_rom({{k.u + s * 0.03f, k.v - 0.035f, 0.02f},
                                          {k.u + s * 0.05f, k.v, 0.02f},
                                          {k.u + s * 0.03f, k.v + 0.035f, 0.02f}},
                                         5)),
                           dimple, 0.014f});
  }
  // Crease between lower lip and chin, deeper when the chin pushes up.
  {
    const float v = lo_out[N / 2].v + 0.07f + 0.03f * jaw;
    f.creases.push_back(
        {P(catmull_rom(
             {{-0.12f, v - 0.01f, 0.02f}, {0.f, v + 0.01f, 0.03f}, {0.12f, v - 0.01f, 0.02f}}, 6)),
         0.12f + 0.4f * chin, 0.02f});
    if (chin > 0.2f)
      for (int k = -1; k <= 1; k += 2)
        f.creases.push_back(
            {P(catmull_rom({{k * 0.05f, v + 0.07f, 0.02f}, {k * 0.065f, v + 0.1f, 0.02f}}, 3)),
             0.45f * chin, 0.014f});
  }

  // Cheeks: blush, the apple of a smile, crow's feet.
  for (int i = 0; i < 2; ++i) {
    const float s = i == 0 ? -1.f : 1.f;
    const Rgb blush = mix(id.skin, rgb(214, 96, 96), 0.55f);
    const float alpha = id.blush + 0.1f * cheek;
    for (int ring = 0; ring < 6; ++ring) {
      const float k = 1.f - ring / 6.f;
      f.skin_marks.push_back({P(face_ellipse(s * 0.5f, id.nose_y - 0.02f - 0.06f * cheek,
                                             0.2f * k * (1.f + 0.1f * cheek), 0.12f * k, 0.f, 28)),
                              mix(id.skin, blush, alpha * (ring + 1) / 6.f)});
    }
    if (cheek > 0.2f)
      f.skin_marks.push_back(
          {P(face_ellipse(s * 0.44f, id.nose_y - 0.1f - 0.05f * cheek, 0.13f, 0.06f, 0.f, 24)),
           mix(id.skin, mul(id.skin, 1.08f), cheek)});
    if (cheek > 0.3f || neg(lid) > 0.5f) {
      const float amount = std::max(cheek - 0.3f, 0.5f * (neg(lid) - 0.5f));
      const float u0 = s * (id.eye_x + id.eye_w + 0.025f);
      for (int k = -1; k <= 1; ++k)
        f.creases.push_back({P(catmull_rom({{u0, id.eye_y + 0.02f * k, 0.f},
                                            {u0 + s * 0.05f, id.eye_y + 0.04f * k, 0.f},
                                            {u0 + s * 0.09f, id.eye_y + 0.065f * k, 0.f}},
                                           4)),
                             0.6f * amount, 0.012f});
    }
    // Lid shadow between crease and lid margin.
    f.skin_marks.push_back({f.eyes[i].lid, mul(id.skin, 0.9f)});
    // Bag below the eye.
    std::vector<FP> bag;
    for (int k = 3; k <= 13; ++k) {
      const float t = k / 16.f;
      const float u = s * (id.eye_x - id.eye_w + 2 * id.eye_w * t);
      bag.push_back(
          {u,
           id.eye_y + 0.75f * id.eye_h * (1.f - 0.5f * cheek) + 0.035f + 0.02f * std::sin(kPi * t),
           0.f});
    }
    f.creases.push_back({P(bag), 0.12f + 0.25f * cheek, 0.012f});
  }
  if (id.stubble > 0.f) {
    // Beard area: sideburns, down the jaw to the chin, the cheeks below a diagonal line and the
    // upper lip.
    const auto jaw_u = [&](float v) {
      return 0.97f * std::sqrt(std::max(0.f, 1.f - (v / b) * (v / b))) *
             (1.f - id.jaw * 0.3f * std::pow(smooth((v - 0.2f * b) / (0.8f * b)), 1.4f));
    };
    const float top = id.eye_y + 0.12f;
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
      const std::vector<FP> line = {{side * 0.62f, id.mouth_y - 0.12f, 0.f},
                                    {side * 0.4f, id.mouth_y - 0.07f, 0.f},
                                    {side * 0.3f, id.nose_y + 0.1f, 0.f}};
      if (side < 0) {
        area.insert(area.end(), line.begin(), line.end());
        area.push_back({0.f, id.nose_y + 0.085f, 0.f});
      } else {
        area.insert(area.end(), line.rbegin(), line.rend());
      }
    }
    f.stubble = P(area);
  }

  // --- Glasses.
  if (id.glasses) {
    for (int i = 0; i < 2; ++i) {
      const float s = i == 0 ? -1.f : 1.f;
      std::vector<FP> rim;
      const float ru = id.eye_w * 1.45f, rv = id.eye_h * 2.2f + 0.02f;
      for (int k = 0; k < 40; ++k) {
        const float t = 2 * kPi * k / 40.f;
        const float c = std::cos(t), sn = std::sin(t);
        const float e = 0.5f;  // superellipse: rounded rectangle
        rim.push_back({s * id.eye_x + ru * std::copysign(std::pow(std::abs(c), e), c),
                       id.eye_y + 0.01f + rv * std::copysign(std::pow(std::abs(sn), e), sn),
                       0.14f});
      }
      rim.push_back(rim.front());
      f.glasses[i] = P(rim);
      f.glasses_temples[i] = P(std::vector<FP>{{s * (id.eye_x + ru), id.eye_y - 0.02f, 0.12f},
                                               {s * 0.99f, id.eye_y, 0.f}});
    }
    f.glasses_bridge = P(catmull_rom({{-(id.eye_x - id.eye_w * 1.45f), id.eye_y - 0.03f, 0.14f},
                                      {0.f, id.eye_y - 0.05f, 0.3f},
                                      {id.eye_x - id.eye_w * 1.45f, id.eye_y - 0.03f, 0.14f}},
                                     6));
  }

  // Canvas pixels -> output pixels for the landmarks.
  for (auto& p : f.lm) {
    p.x = (p.x + 0.5f) / ss_ - 0.5f;
    p.y = (p.y + 0.5f) / ss_ - 0.5f;
  }
  return f;
}

void FaceRenderer::draw(const Frame& f, const FaceActions& a, cv::Mat& img) const {
  const Identity& id = id_;
  const float u = f.unit;
  const Rgb skin = id.skin;
  const Rgb dark_skin = mul(skin, 0.55f);

  fill(img, f.torso, id.clothes);
  if (!f.hair_back.empty()) fill(img, f.hair_back, mul(id.hair, 0.8f));
  fill(img, f.neckline, mul(skin, 0.86f));
  fill(img, f.neck, mul(skin, 0.84f));
  cv::ellipse(
      img,
      cv::Point(cvRound(f.chin_shadow_c.x * kShiftScale), cvRound(f.chin_shadow_c.y * kShiftScale)),
      cv::Size(cvRound(f.chin_shadow_r.width * kShiftScale),
               cvRound(f.chin_shadow_r.height * kShiftScale)),
      0, 0, 360, sc(mul(skin, 0.68f)), cv::FILLED, cv::LINE_AA, kShift);
  if (f.bun) disc(img, f.bun_c, f.bun_r, mul(id.hair, 0.9f));
  for (const auto& e : f.ears) {
    if (!e.visible) continue;
    const cv::Point c(cvRound(e.c.x * kShiftScale), cvRound(e.c.y * kShiftScale));
    cv::ellipse(img, c,
                cv::Size(cvRound(e.r.width * kShiftScale), cvRound(e.r.height * kShiftScale)),
                e.angle, 0, 360, sc(mul(skin, 0.9f)), cv::FILLED, cv::LINE_AA, kShift);
    cv::ellipse(img, c,
                cv::Size(cvRound(e.r.width * 0.55f * kShiftScale),
                         cvRound(e.r.height * 0.6f * kShiftScale)),
                e.angle, 0, 360, sc(mul(skin, 0.72f)), std::max(1, cvRound(0.02f * u)), cv::LINE_AA,
                kShift);
  }
  fill(img, f.head, skin);

  for (const auto& m : f.skin_marks) fill(img, m.poly, m.colour);
  if (!f.stubble.empty()) {
    // Always a darkening: grey or blond stubble still reads darker than skin.
    soft_fill(img, f.stubble, mix(mul(skin, 0.6f), mul(id.hair, 0.5f), 0.3f), id.stubble,
              0.03f * u);
  }
  for (const auto& c : f.creases) {
    if (c.alpha <= 0.01f) continue;
    stroke_alpha(img, c.pts, dark_skin, c.width * u, std::min(c.alpha, 1.f));
  }

  // Nose.
  for (int i = 0; i < 2; ++i) {
    stroke(img, f.alae[i], mix(skin, dark_skin, 0.55f), 0.02f * u);
    fill(img, f.nostrils[i], mul(skin, 0.35f));
  }

  // Eyes: sclera, iris and pupil clipped to the opening, then lash line and lower lid.
  const float blink = std::clamp(a[A::kBlink], 0.f, 1.f);
  for (const auto& e : f.eyes) {
    if (blink < 0.97f) {
      draw_clipped(img, e.opening, [&](cv::Mat& layer, cv::Point2f off) {
        layer.setTo(sc(rgb(236, 230, 224)));
        disc(layer, e.iris, e.iris_r, id.iris, off);
        cv::circle(layer,
                   cv::Point(cvRound((e.iris.x - off.x) * kShiftScale),
                             cvRound((e.iris.y - off.y) * kShiftScale)),
                   cvRound(e.iris_r * kShiftScale), sc(mul(id.iris, 0.5f)),
                   std::max(1, cvRound(0.012f * u)), cv::LINE_AA, kShift);
        disc(layer, e.iris, e.iris_r * 0.45f, rgb(16, 14, 14), off);
        disc(layer, e.iris + cv::Point2f(-0.3f, -0.35f) * e.iris_r, e.iris_r * 0.18f,
             rgb(250, 250, 250), off);
        stroke(layer, e.upper, rgb(150, 140, 135), 0.03f * u, off);  // lid shadow on the eyeball
      });
    }
    stroke(img, e.upper, mix(id.brow, rgb(10, 8, 8), 0.6f), 0.024f * u);
    stroke(img, e.lower, mix(skin, dark_skin, 0.45f), 0.01f * u);
    stroke(img, e.crease, mix(skin, dark_skin, 0.45f), 0.012f * u);
  }

  // Brows.
  for (const auto& brow : f.brows) fill(img, brow, id.brow);

  // Mouth.
  fill(img, f.upper_lip, mul(id.lip, 0.9f));
  fill(img, f.lower_lip, id.lip);
  stroke(img, f.lip_highlight, mix(id.lip, rgb(255, 235, 230), 0.25f), 0.015f * u);
  if (!f.mouth_inside.empty()) {
    draw_clipped(img, f.mouth_inside, [&](cv::Mat& layer, cv::Point2f off) {
      layer.setTo(sc(rgb(62, 24, 26)));
      fill(layer, f.tongue, rgb(170, 82, 86), off);
      if (!f.teeth_lower.empty()) fill(layer, f.teeth_lower, rgb(222, 218, 205), off);
      fill(layer, f.teeth_upper, rgb(240, 236, 224), off);
    });
  }
  stroke(img, f.mouth_line, mul(id.lip, 0.45f), 0.014f * u);

  // Shading of the head by the key light, as on an ellipsoid: darker towards the silhouette and on
  // the side away from the light.
  {
    const Projector& P = f.P;
    const cv::Rect r = bounds(f.head, img.size(), 1);
    if (r.width > 0 && r.height > 0) {
      cv::Mat mask = cv::Mat::zeros(r.size(), CV_8U);
      const std::vector<std::vector<cv::Point>> polys{fixed(f.head, {float(r.x), float(r.y)})};
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
        auto* row = img.ptr<cv::Vec3b>(r.y + y) + r.x;
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
  }

  // Glasses sit in front of the face.
  if (id.glasses) {
    for (int i = 0; i < 2; ++i) {
      draw_clipped(img, f.glasses[i], [&](cv::Mat& layer, cv::Point2f) {
        cv::addWeighted(layer, 0.88, cv::Mat(layer.size(), layer.type(), cv::Scalar(235, 240, 245)),
                        0.12, 0.0, layer);
      });
      stroke(img, f.glasses[i], id.glasses_colour, 0.028f * u);
      stroke(img, f.glasses_temples[i], id.glasses_colour, 0.028f * u);
    }
    stroke(img, f.glasses_bridge, id.glasses_colour, 0.025f * u);
  }

  // Hair in front: the cap with a sheen towards the light and a few strands.
  if (!f.hair_cap.empty()) {
    fill(img, f.hair_cap, id.hair);
    Rng strands(id.seed, Stream::kIdentity);
    draw_clipped(img, f.hair_cap, [&](cv::Mat& layer, cv::Point2f off) {
      const cv::Rect r = bounds(f.hair_cap, cv::Size(1 << 20, 1 << 20), 0);
      const cv::Point2f sheen(r.x + r.width * (0.5f + 0.25f * scene_.light_x) - off.x,
                              r.y + r.height * 0.22f - off.y);
      cv::ellipse(layer, sheen, cv::Size2f(r.width * 0.45f, r.height * 0.16f), 0, 0, 360,
                  sc(mix(id.hair, rgb(255, 250, 240), 0.18f)), cv::FILLED, cv::LINE_AA);
      cv::GaussianBlur(layer, layer, cv::Size(0, 0), std::max(1.0, 0.03 * u));
      // Strands fall away from the crown, curving slightly.
      const cv::Point2f crown = f.P.camera_to_image(0.f, -0.75f * f.P.b);
      for (int k = 0; k < 40; ++k) {
        const cv::Point2f p0(r.x + strands.uniform() * r.width, r.y + strands.uniform() * r.height);
        cv::Point2f d = p0 - crown;
        const float n = std::hypot(d.x, d.y);
        if (n < 1e-3f) continue;
        d *= 1.f / n;
        const cv::Point2f side(-d.y, d.x);
        const float len = (0.12f + 0.2f * strands.uniform()) * u;
        const float bend = strands.uniform(-0.25f, 0.25f) * len;
        const std::vector<cv::Point2f> pts = {p0, p0 + d * (0.5f * len) + side * bend,
                                              p0 + d * len + side * (1.5f * bend)};
        stroke(layer, pts, mul(id.hair, strands.chance(0.5) ? 0.82f : 1.15f), 0.008f * u, off);
      }
    });
  }
}

void FaceRenderer::render(const FaceActions& actions, Point drift, std::uint64_t noise_seed,
                          std::uint8_t* rgb_out) const {
  const Frame f = layout(actions, drift);
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
  const Frame f = layout(actions, drift);
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

// SPDX-License-Identifier: LGPL-2.1-or-later
// Geometry of the drawn head (see expression_face.h): points in face coordinates, smooth curves
// through them and the projection of the head ellipsoid into the canvas.
#pragma once

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <vector>

namespace hesp::synth::detail::face {

constexpr float kPi = 3.14159265f;

inline float rad(float degrees) { return degrees * kPi / 180.f; }
inline float smooth(float x) {
  x = std::clamp(x, 0.f, 1.f);
  return x * x * (3.f - 2.f * x);
}
inline float pos(float x) { return std::max(x, 0.f); }
inline float neg(float x) { return std::max(-x, 0.f); }

// A point in face coordinates with extra depth above the head surface.
struct FP {
  float u, v, dz;
};

inline std::vector<FP> catmull_rom(const std::vector<FP>& c, int steps) {
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

// An ellipse in face coordinates lifted onto the head surface.
inline std::vector<FP> face_ellipse(float cu, float cv, float ru, float rv, float dz, int n = 32) {
  std::vector<FP> out;
  for (int i = 0; i < n; ++i) {
    const float t = 2.f * kPi * i / n;
    out.push_back({cu + ru * std::cos(t), cv + rv * std::sin(t), dz});
  }
  return out;
}

}  // namespace hesp::synth::detail::face

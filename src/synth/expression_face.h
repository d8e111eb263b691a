// SPDX-License-Identifier: LGPL-2.1-or-later
// The face renderer behind SyntheticClip: who the person is (Identity), where and how they are
// filmed (Scene), and drawing one frame for a set of facial actions.
//
// The head is an ellipsoid. Facial features are laid out in face coordinates (x to the image's
// right, y down, in head half-widths), lifted onto the ellipsoid's front surface (plus extra depth
// for the nose and lips), rotated by yaw and pitch, projected orthographically and finally rolled
// and placed in the frame. That keeps features on the face when the head turns and gives the
// silhouette, ears and shading a consistent 3D look with plain 2D drawing calls.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "hesp/synth.h"

namespace hesp::synth::detail {

struct Rgb {
  float r = 0.f, g = 0.f, b = 0.f;
};

enum class HairStyle { kBald, kShort, kBangs, kLong, kCurly, kBun };

struct Identity {
  float aspect = 1.32f;  // head half-height / half-width
  float depth = 0.95f;   // head half-depth / half-width
  float jaw = 0.5f;      // narrowing of the lower face, 0..1
  Rgb skin, lip, brow, hair, iris, clothes;
  float eye_x = 0.38f, eye_y = 0.f, eye_w = 0.19f, eye_h = 0.075f, eye_tilt = 0.01f;
  float brow_y = -0.24f, brow_thick = 0.055f, brow_arch = 0.04f, brow_inner = 0.1f, brow_len = 0.5f;
  float nose_y = 0.4f, nose_w = 0.15f;
  float mouth_y = 0.66f, mouth_w = 0.32f, lip_upper = 0.06f, lip_lower = 0.08f;
  float fold = 0.2f;  // how visible the nasolabial folds are at rest (age)
  float blush = 0.15f;
  float stubble = 0.f;
  HairStyle hair_style = HairStyle::kShort;
  float hairline = -0.62f;  // forehead hairline, face y
  float hair_volume = 0.08f;
  bool glasses = false;
  Rgb glasses_colour;
  float ear = 1.f;
  std::uint64_t seed = 0;  // for details drawn per frame the same way (hair strands)
  // Words for the caption.
  std::string hair_words;
  std::string extra_words;
};

enum class Background { kSolid, kGradient, kTexture, kRoom, kStripes, kBokeh };

struct Scene {
  float cx = 0.5f, cy = 0.46f;               // head centre, fractions of the frame
  float scale = 0.3f;                        // head half-width, fraction of the frame
  float yaw = 0.f, pitch = 0.f, roll = 0.f;  // base pose, degrees
  float light_x = -0.4f, light_y = -0.5f;    // key light direction in the image plane
  float ambient = 0.55f;
  float brightness = 1.f, gradient = 0.f, gradient_angle = 0.f;
  Rgb tint{1.f, 1.f, 1.f};
  Background background = Background::kSolid;
  Rgb bg_a, bg_b;
  float noise_sigma = 0.f;  // sensor noise, 8-bit levels
  float blur_sigma = 0.f;   // focus blur, output pixels
  std::string background_words;
  std::string light_words;
};

namespace face {
struct Frame;
}  // namespace face

Identity sample_identity(std::uint64_t seed);
Scene sample_scene(std::uint64_t seed, bool camera_effects);

class FaceRenderer {
 public:
  FaceRenderer(const Identity& identity, const Scene& scene, int size, std::uint64_t seed);

  // `drift` shifts the head (head half-widths); `noise_seed` seeds this frame's sensor noise.
  void render(const FaceActions& actions, Point drift, std::uint64_t noise_seed,
              std::uint8_t* rgb) const;
  Landmarks landmarks(const FaceActions& actions, Point drift) const;
  Box face_box(const FaceActions& actions, Point drift) const;

 private:
  // face::Frame and the parts that lay it out and paint it are in face_parts.h.
  face::Frame layout(const FaceActions& actions, Point drift) const;
  void draw(const face::Frame& f, const FaceActions& a, cv::Mat& canvas) const;

  Identity id_;
  Scene scene_;
  int size_;
  int ss_;              // supersampling factor
  cv::Mat background_;  // RGB, supersampled
  cv::Mat light_;       // CV_32FC3 multipliers at output size (empty = none)
};

}  // namespace hesp::synth::detail

// SPDX-License-Identifier: LGPL-2.1-or-later
// The parts of a drawn face. FaceRenderer lays out a frame part by part (Layout: outlines in
// canvas pixels, collected in a Frame) and then paints it part by part (Painter), back to front.
// Each part lives in its own file: the head, body, ears and hair in face_head.cpp, the eyes, brows
// and glasses in face_eyes.cpp, the nose and mouth in face_mouth.cpp, the cheeks, stubble,
// wrinkles and shading in face_skin.cpp.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "synth/expression_face.h"
#include "synth/face_geometry.h"

namespace hesp::synth::detail::face {

using A = Action;

// Everything a frame draws, already in canvas pixels.
struct Frame {
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

// Lays out one frame. The constructor poses the head (the projector); each part then adds its
// outlines and landmarks to the frame. Parts that add wrinkles or skin marks append them in the
// order they are drawn, so the parts run in the order FaceRenderer::layout calls them.
class Layout {
 public:
  // `canvas`: the canvas size in pixels; `drift` shifts the head (head half-widths).
  Layout(const Identity& id, const Scene& scene, const FaceActions& a, float canvas, Point drift,
         Frame& f);

  // face_head.cpp
  void head();  // silhouette narrowed at the jaw, chin lowered by an open jaw
  void body();  // neck and shoulders, upright whatever the head does
  void ears();
  void hair();
  // face_eyes.cpp
  void eyes();
  void brows();  // with the furrows between them and the forehead lines above
  void glasses();
  // face_mouth.cpp
  void nose();
  void mouth();  // lips, teeth, the folds and marks around the mouth
  // face_skin.cpp
  void cheeks();  // blush, the apple of a smile, crow's feet, lid shadow, bags
  void stubble();

 private:
  // The nose as the expression shapes it; the nasolabial folds start at its wings.
  struct NoseShape {
    float wrinkle;  // nose wrinkler, >= 0
    float width;    // half-width of the wings, face units
    float lift;     // how far the wings are pulled up
  };
  NoseShape nose_shape() const;

  // Lip contours in face coordinates, left corner to right corner.
  struct Lips;
  Lips lip_contours() const;
  void lip_outlines(const Lips& lips);
  void mouth_creases(const Lips& lips);

  const Identity& id_;
  const Scene& scene_;
  const FaceActions& a_;
  float canvas_;
  Point drift_;
  Frame& f_;
  float yaw_, pitch_, roll_;  // radians: the scene's pose plus the head actions
  float jaw_;                 // jaw drop, >= 0
};

// Paints a laid-out frame onto the supersampled canvas, back to front in the order
// FaceRenderer::draw calls the parts.
class Painter {
 public:
  Painter(const Identity& id, const Scene& scene, const FaceActions& a, const Frame& f,
          cv::Mat& img);

  // face_head.cpp
  void behind_face();  // clothes, hair behind the head, neck, bun, ears, then the head
  void hair();         // the hair in front, with its sheen and strands
  // face_skin.cpp
  void skin();     // skin marks, stubble, wrinkles and folds
  void shading();  // the key light on the head ellipsoid
  // face_mouth.cpp
  void nose();
  void mouth();
  // face_eyes.cpp
  void eyes();
  void brows();
  void glasses();

 private:
  const Identity& id_;
  const Scene& scene_;
  const FaceActions& a_;
  const Frame& f_;
  cv::Mat& img_;
  float unit_;  // canvas pixels per face unit
  Rgb skin_, dark_skin_;
};

// face_identity.cpp: the scene behind the person, at n x n canvas pixels.
cv::Mat make_background(const Scene& s, int n, std::uint64_t seed);

}  // namespace hesp::synth::detail::face

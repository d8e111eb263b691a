// SPDX-License-Identifier: LGPL-2.1-or-later
// Ground truth for the npm package's demo photos: the nose tip of every person, hand-checked, in
// photo pixels, left to right.
#pragma once

#include <vector>

namespace hesp::test {

struct NosePoint {
  int x, y;
};

struct DemoPhotoFaces {
  int number;  // sampleN.jpg
  std::vector<NosePoint> noses;
};

// sample1: three women, the right one with her head tilted; sample2: three women, the left one in
// profile looking down; sample3: three on a sofa; sample4: four, heads tilted; sample5: five on a
// staircase; sample6: four in front of window blinds.
inline const std::vector<DemoPhotoFaces>& demo_photo_faces() {
  static const std::vector<DemoPhotoFaces> faces = {
      {1, {{505, 490}, {915, 545}, {1565, 335}}},
      {2, {{390, 310}, {990, 380}, {1550, 320}}},
      {3, {{676, 510}, {1160, 400}, {1610, 450}}},
      {4, {{330, 330}, {744, 200}, {1060, 330}, {1350, 290}}},
      {5, {{460, 1060}, {670, 570}, {860, 220}, {1170, 340}, {1490, 560}}},
      {6, {{360, 640}, {760, 530}, {1270, 470}, {1580, 440}}},
  };
  return faces;
}

}  // namespace hesp::test

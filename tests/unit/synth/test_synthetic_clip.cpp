// SPDX-License-Identifier: LGPL-2.1-or-later
// The synthetic face clips: determinism, that every class draws a visibly different face, the
// onset/apex/offset time course, and captions that describe what the face does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hesp/error.h"
#include "hesp/synth.h"

namespace {

using hesp::synth::Action;
using hesp::synth::ClipSettings;
using hesp::synth::FaceActions;
using hesp::synth::Landmark;
using hesp::synth::Landmarks;
using hesp::synth::SyntheticClip;

ClipSettings small(int size = 96, int frames = 12) {
  ClipSettings s;
  s.size = size;
  s.n_frames = frames;
  return s;
}

// Clean frames: no blinks, sway, noise or lighting changes, so that only the expression differs.
ClipSettings clean(int size = 128, int frames = 12) {
  ClipSettings s = small(size, frames);
  s.idle_motion = false;
  s.camera_effects = false;
  return s;
}

std::vector<std::uint8_t> frame(const SyntheticClip& clip, int index) {
  const int n = clip.settings().size;
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(n) * n * 3);
  clip.render(index, rgb.data());
  return rgb;
}

std::vector<std::uint8_t> frame_with(const SyntheticClip& clip, int index, const FaceActions& a) {
  const int n = clip.settings().size;
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(n) * n * 3);
  clip.render_actions(index, a, rgb.data());
  return rgb;
}

// Mean absolute difference over a box around the given landmarks.
double region_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b, int size,
                   const Landmarks& lm, std::initializer_list<Landmark> around, float pad) {
  float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f;
  for (Landmark l : around) {
    const auto& p = lm[static_cast<int>(l)];
    x0 = std::min(x0, p.x);
    y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x);
    y1 = std::max(y1, p.y);
  }
  const int xa = std::max(0, static_cast<int>(x0 - pad)),
            ya = std::max(0, static_cast<int>(y0 - pad));
  const int xb = std::min(size, static_cast<int>(x1 + pad)),
            yb = std::min(size, static_cast<int>(y1 + pad));
  double sum = 0.0;
  int n = 0;
  for (int y = ya; y < yb; ++y)
    for (int x = xa; x < xb; ++x)
      for (int c = 0; c < 3; ++c) {
        const std::size_t i = (static_cast<std::size_t>(y) * size + x) * 3 + c;
        sum += std::abs(int(a[i]) - int(b[i]));
        ++n;
      }
  return n ? sum / n : 0.0;
}

// Landmark displacement from the same person's neutral face, in head-size units: the geometry of
// an expression with identity taken out.
std::vector<double> displacement(const Landmarks& face, const Landmarks& neutral) {
  const auto& l = neutral[static_cast<int>(Landmark::kIrisLeft)];
  const auto& r = neutral[static_cast<int>(Landmark::kIrisRight)];
  const double scale = std::hypot(r.x - l.x, r.y - l.y);
  std::vector<double> v;
  for (int i = 0; i < hesp::synth::kLandmarkCount; ++i) {
    v.push_back((face[i].x - neutral[i].x) / scale);
    v.push_back((face[i].y - neutral[i].y) / scale);
  }
  return v;
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

TEST(SyntheticClip, SameSeedSameBytesOtherSeedOtherBytes) {
  const SyntheticClip a("Happy", 42, small());
  const SyntheticClip b("Happy", 42, small());
  const SyntheticClip c("Happy", 43, small());
  for (int f = 0; f < a.settings().n_frames; ++f) {
    ASSERT_EQ(frame(a, f), frame(b, f)) << "frame " << f;
    EXPECT_NE(frame(a, f), frame(c, f)) << "frame " << f;
  }
  EXPECT_EQ(a.caption(), b.caption());
  EXPECT_EQ(a.metadata_json(), b.metadata_json());
}

TEST(SyntheticClip, FramesChangeOverTime) {
  const SyntheticClip clip("Surprise", 5, small());
  EXPECT_NE(frame(clip, 0), frame(clip, clip.apex_frame()));
}

TEST(SyntheticClip, SameSeedOtherExpressionKeepsPersonAndScene) {
  const SyntheticClip happy("Happy", 9, clean());
  const SyntheticClip sad("Sad", 9, clean());
  // Frame 0 is before either expression starts: identical pixels.
  EXPECT_EQ(frame(happy, 0), frame(sad, 0));
  EXPECT_NE(frame(happy, happy.apex_frame()), frame(sad, sad.apex_frame()));
}

TEST(SyntheticClip, EveryClassDiffersFromNeutralWhereItsFaceMoves) {
  const int size = 128;
  for (const std::string& name : hesp::synth::expression_names()) {
    if (name == "Neutral") continue;
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      const SyntheticClip clip(name, seed, clean(size));
      const SyntheticClip neutral("Neutral", seed, clean(size));
      const int f = clip.apex_frame();
      const auto face = frame(clip, f);
      const auto calm = frame(neutral, f);
      const Landmarks lm = neutral.landmarks(f);
      // Brows and eyes, and mouth: at least one of the two regions changes clearly.
      const double upper = region_diff(face, calm, size, lm,
                                       {Landmark::kBrowOuterLeft, Landmark::kBrowOuterRight,
                                        Landmark::kEyeBottomLeft, Landmark::kEyeBottomRight},
                                       4.f);
      const double lower = region_diff(face, calm, size, lm,
                                       {Landmark::kMouthCornerLeft, Landmark::kMouthCornerRight,
                                        Landmark::kUpperLipTop, Landmark::kLowerLipBottom},
                                       5.f);
      EXPECT_GT(std::max(upper, lower), 6.0) << name << " seed " << seed;
    }
  }
}

TEST(SyntheticClip, NeutralClipStaysNeutral) {
  const SyntheticClip neutral("Neutral", 11, clean());
  for (int f = 1; f < neutral.settings().n_frames; ++f)
    EXPECT_EQ(frame(neutral, 0), frame(neutral, f));
  for (float v : neutral.apex().value) EXPECT_EQ(v, 0.f);
}

TEST(SyntheticClip, ClassesAreSeparableByGeometry) {
  // Nearest-centroid classification of landmark displacements (identity removed by subtracting
  // the same person's neutral face): centroids from some people, tested on others. Distinct,
  // consistently drawn classes make this easy; overlapping ones would not.
  const auto names = hesp::synth::expression_names();
  std::map<std::string, std::vector<double>> centroid;
  const int train_seeds = 8;
  for (const auto& name : names) {
    std::vector<double> sum;
    for (int s = 0; s < train_seeds; ++s) {
      const SyntheticClip clip(name, 100 + s, clean());
      const SyntheticClip neutral("Neutral", 100 + s, clean());
      const int f = clip.apex_frame();
      const auto d = displacement(clip.landmarks(f), neutral.landmarks(f));
      if (sum.empty()) sum.assign(d.size(), 0.0);
      for (std::size_t i = 0; i < d.size(); ++i) sum[i] += d[i] / train_seeds;
    }
    centroid[name] = sum;
  }
  int right = 0, total = 0;
  for (const auto& name : names) {
    for (int s = 0; s < 6; ++s) {
      const SyntheticClip clip(name, 500 + s, clean());
      const SyntheticClip neutral("Neutral", 500 + s, clean());
      const int f = clip.apex_frame();
      const auto d = displacement(clip.landmarks(f), neutral.landmarks(f));
      std::string best;
      double best_d = 1e18;
      for (const auto& [other, c] : centroid) {
        const double dist = distance(d, c);
        if (dist < best_d) {
          best_d = dist;
          best = other;
        }
      }
      right += best == name;
      ++total;
    }
  }
  EXPECT_GE(right, total * 85 / 100) << right << " of " << total << " clips classified right";
  // And no two class centroids coincide.
  for (const auto& [a, ca] : centroid)
    for (const auto& [b, cb] : centroid)
      if (a < b) {
        EXPECT_GT(distance(ca, cb), 0.02) << a << " vs " << b;
      }
}

TEST(SyntheticClip, OnsetApexOffsetOverFrames) {
  for (const std::string name : {"Happy", "Surprise", "Angry", "Disappointment"}) {
    for (std::uint64_t seed : {3u, 4u, 5u}) {
      const SyntheticClip clip(name, seed, clean(96, 16));
      const int n = clip.settings().n_frames, apex = clip.apex_frame();
      EXPECT_LT(clip.intensity(0), 0.01f) << name;
      EXPECT_FLOAT_EQ(clip.intensity(apex), 1.f) << name;
      EXPECT_GT(apex, 0);
      EXPECT_LT(apex, n - 1);
      for (int f = 1; f <= apex; ++f) EXPECT_GE(clip.intensity(f), clip.intensity(f - 1));
      for (int f = apex + 1; f < n; ++f) EXPECT_LE(clip.intensity(f), clip.intensity(f - 1));
      EXPECT_LT(clip.intensity(n - 1), 0.5f) << name << ": the expression fades at the end";
      // The face follows: its distance from the first frame's landmarks peaks at the apex.
      const Landmarks first = clip.landmarks(0);
      const auto moved = [&](int f) {
        const Landmarks lm = clip.landmarks(f);
        double s = 0.0;
        for (int i = 0; i < hesp::synth::kLandmarkCount; ++i)
          s += std::hypot(lm[i].x - first[i].x, lm[i].y - first[i].y);
        return s;
      };
      EXPECT_GT(moved(apex), 2.0 * moved(n - 1) + 1.0) << name << " seed " << seed;
      EXPECT_LT(moved(0), 1e-6);
    }
  }
}

TEST(SyntheticClip, MouthOpensAndClosesInSurprise) {
  const SyntheticClip clip("Surprise", 21, clean(128, 16));
  const auto opening = [&](int f) {
    const Landmarks lm = clip.landmarks(f);
    return lm[static_cast<int>(Landmark::kLowerLipInner)].y -
           lm[static_cast<int>(Landmark::kUpperLipInner)].y;
  };
  const int apex = clip.apex_frame();
  EXPECT_GT(opening(apex), opening(0) + 5.f);
  EXPECT_LT(opening(clip.settings().n_frames - 1), opening(apex));
}

TEST(SyntheticClip, ActionsFollowTheNominalProfile) {
  // Signs of the defining actions survive the per-clip variation.
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    EXPECT_GT(SyntheticClip("Happy", seed, small()).apex()[Action::kLipCornerLeft], 0.4f);
    EXPECT_GT(SyntheticClip("Angry", seed, small()).apex()[Action::kBrowDraw], 0.5f);
    EXPECT_GT(SyntheticClip("Surprise", seed, small()).apex()[Action::kJawDrop], 0.3f);
    EXPECT_GT(SyntheticClip("Disgust", seed, small()).apex()[Action::kNoseWrinkle], 0.5f);
    EXPECT_GT(SyntheticClip("Fear", seed, small()).apex()[Action::kLidOpen], 0.5f);
    EXPECT_LT(SyntheticClip("Sad", seed, small()).apex()[Action::kLipCornerRight], -0.3f);
    EXPECT_GT(SyntheticClip("Disappointment", seed, small()).apex()[Action::kGazeY], 0.4f);
    const FaceActions contempt = SyntheticClip("Contempt", seed, small()).apex();
    EXPECT_GT(std::abs(contempt[Action::kLipCornerLeft] - contempt[Action::kLipCornerRight]), 0.4f);
    EXPECT_GT(SyntheticClip("Helplessness", seed, small()).apex()[Action::kHeadPitch], 2.f);
    EXPECT_GT(SyntheticClip("Anxiety", seed, small()).apex()[Action::kLipPress], 0.3f);
  }
}

TEST(SyntheticClip, AnxietyGazeShiftsSideToSide) {
  const SyntheticClip clip("Anxiety", 8, clean(96, 24));
  float lo = 0.f, hi = 0.f;
  for (int f = 0; f < 24; ++f) {
    lo = std::min(lo, clip.actions(f)[Action::kGazeX]);
    hi = std::max(hi, clip.actions(f)[Action::kGazeX]);
  }
  EXPECT_LT(lo, -0.2f);
  EXPECT_GT(hi, 0.2f);
}

TEST(SyntheticClip, RendersExplicitActions) {
  const SyntheticClip clip("Neutral", 12, clean());
  FaceActions smile;
  smile[Action::kLipCornerLeft] = smile[Action::kLipCornerRight] = 1.f;
  EXPECT_NE(frame_with(clip, 3, smile), frame(clip, 3));
  EXPECT_EQ(frame_with(clip, 3, clip.actions(3)), frame(clip, 3));
  const Landmarks calm = clip.landmarks(3), smiling = clip.landmarks_for(3, smile);
  // Corners rise (smaller y) when smiling.
  EXPECT_LT(smiling[static_cast<int>(Landmark::kMouthCornerLeft)].y,
            calm[static_cast<int>(Landmark::kMouthCornerLeft)].y - 1.f);
}

TEST(SyntheticClip, FaceBoxIsInsideTheFrameAndAroundTheLandmarks) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const SyntheticClip clip("Fear", seed, small(128));
    const hesp::Box box = clip.face_box(0);
    EXPECT_GT(box.width, 128 * 0.35f);
    EXPECT_GT(box.height, box.width);
    const auto nose = clip.landmarks(0)[static_cast<int>(Landmark::kNoseTip)];
    EXPECT_GT(nose.x, box.x);
    EXPECT_LT(nose.x, box.x + box.width);
    EXPECT_GT(nose.y, box.y);
    EXPECT_LT(nose.y, box.y + box.height);
  }
}

bool contains_any(const std::string& text, const std::vector<const char*>& words) {
  for (const char* w : words)
    if (text.find(w) != std::string::npos) return true;
  return false;
}

TEST(SyntheticClip, CaptionsDescribeTheClassesMovements) {
  const std::map<std::string, std::vector<const char*>> keys = {
      {"Angry", {"frown", "draws them together", "knit", "glare", "narrows"}},
      {"Disgust", {"nose"}},
      {"Fear", {"wide", "stretches the lips", "lips tight and sideways"}},
      {"Happy", {"smil", "grin"}},
      {"Neutral", {"neutral", "calm", "blank", "at rest"}},
      {"Sad", {"inner", "up at the middle", "down", "sag"}},
      {"Surprise", {"eyebrows", "open"}},
      {"Contempt", {"one corner", "one side", "smirk"}},
      {"Anxiety", {"side to side", "left and right"}},
      {"Helplessness", {"worried", "inner", "pleading", "head"}},
      {"Disappointment", {"down", "sag"}},
  };
  for (const auto& [name, words] : keys) {
    std::set<std::string> distinct;
    int hits = 0;
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
      const std::string c = SyntheticClip(name, seed, small()).caption();
      ASSERT_FALSE(c.empty());
      EXPECT_EQ(c.back(), '.');
      EXPECT_EQ(c.find('\t'), std::string::npos);
      EXPECT_EQ(c.find('\n'), std::string::npos);
      hits += contains_any(c, words);
      distinct.insert(c);
      if (name == "Neutral") {
        EXPECT_FALSE(contains_any(c, {"smil", "frown", "raises", "wrinkles", "widens"})) << c;
      }
    }
    EXPECT_GE(hits, 9) << name;
    EXPECT_GE(distinct.size(), 8u) << name << ": captions should vary";
  }
}

TEST(SyntheticClip, RejectsBadSettingsAndUnknownExpressions) {
  EXPECT_THROW(SyntheticClip("Bored", 1, small()), hesp::SettingsError);
  ClipSettings s = small();
  s.size = 8;
  EXPECT_THROW(SyntheticClip("Happy", 1, s), hesp::SettingsError);
  s = small();
  s.n_frames = 0;
  EXPECT_THROW(SyntheticClip("Happy", 1, s), hesp::SettingsError);
  const SyntheticClip clip("Happy", 1, small());
  std::vector<std::uint8_t> rgb(96 * 96 * 3);
  EXPECT_THROW(clip.render(12, rgb.data()), hesp::InputError);
  try {
    SyntheticClip("Bored", 1, small());
  } catch (const hesp::SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("Bored"), std::string::npos);
  }
}

TEST(SyntheticClip, ShortClipsShowTheApex) {
  const SyntheticClip one("Happy", 2, small(96, 1));
  EXPECT_FLOAT_EQ(one.intensity(0), 1.f);
}

TEST(ClassLists, MafwDfewAndCustom) {
  const auto mafw = hesp::synth::mafw_classes();
  ASSERT_EQ(mafw.size(), 11u);
  EXPECT_EQ(mafw[0].name, "Angry");
  EXPECT_EQ(mafw[10].name, "Disappointment");
  EXPECT_EQ(mafw[10].id, 10);
  const auto dfew = hesp::synth::parse_classes("dfew");
  ASSERT_EQ(dfew.size(), 7u);
  EXPECT_EQ(dfew[0].name, "Happy");
  EXPECT_EQ(dfew[6].name, "Fear");
  const auto custom = hesp::synth::parse_classes("happy, Sad");
  ASSERT_EQ(custom.size(), 2u);
  EXPECT_EQ(custom[0].name, "Happy");
  EXPECT_EQ(custom[1].id, 1);
  const auto ids = hesp::synth::parse_classes("3:Happy,5:Sad");
  EXPECT_EQ(ids[0].id, 3);
  EXPECT_EQ(ids[1].id, 5);
  EXPECT_THROW(hesp::synth::parse_classes("Happy,Bored"), hesp::SettingsError);
  EXPECT_THROW(hesp::synth::parse_classes("Happy,Happy"), hesp::SettingsError);
  EXPECT_THROW(hesp::synth::parse_classes("1:Happy,1:Sad"), hesp::SettingsError);
  EXPECT_THROW(hesp::synth::parse_classes("Happy,,Sad"), hesp::SettingsError);
  EXPECT_THROW(hesp::synth::parse_classes("x:Happy"), hesp::SettingsError);
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
// Who is filmed and where: a person's face, hair and clothes, the camera's view and light, and the
// background behind them, all drawn from a seed.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "synth/expression_face.h"
#include "synth/face_paint.h"
#include "synth/face_parts.h"
#include "synth/synth_rng.h"

namespace hesp::synth::detail {

namespace {

using face::clamp255;
using face::kPi;
using face::mix;
using face::mul;
using face::rgb;
using face::sc;

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

}  // namespace

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

cv::Mat face::make_background(const Scene& s, int n, std::uint64_t seed) {
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

}  // namespace hesp::synth::detail

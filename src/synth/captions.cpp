// SPDX-License-Identifier: LGPL-2.1-or-later
#include "synth/captions.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "synth/synth_rng.h"

namespace hesp::synth::detail {

namespace {

using A = Action;

// A verb phrase about one part of the face, with how much it stands out in this clip and where
// it sits (phrases are read top to bottom: brows, eyes, nose, mouth, then gaze and head).
struct Clause {
  float salience;
  int order;
  std::string text;
};

template <std::size_t N>
std::string pick(Rng& rng, const char* const (&options)[N]) {
  return options[rng.index(static_cast<int>(N))];
}

std::vector<Clause> clauses(const ExpressionScript& s, Rng& rng) {
  const FaceActions& a = s.apex;
  std::vector<Clause> out;
  const float raise = a[A::kBrowRaise], inner = a[A::kBrowInnerRaise], draw = a[A::kBrowDraw];
  const float lid = a[A::kLidOpen], cheek = a[A::kCheekRaise];
  const float cl = a[A::kLipCornerLeft], cr = a[A::kLipCornerRight];
  const float jaw = a[A::kJawDrop], stretch = a[A::kLipStretch], press = a[A::kLipPress];
  const float ulr = a[A::kUpperLipRaise], chin = a[A::kChinRaise];
  const float gaze_y = a[A::kGazeY], pitch = a[A::kHeadPitch], roll = a[A::kHeadRoll],
              yaw = a[A::kHeadYaw];

  // Brows.
  if (raise > 0.35f && inner > 0.3f && draw > 0.2f) {
    static const char* const k[] = {"raises the eyebrows and pulls them together",
                                    "lifts the brows while knitting them together",
                                    "raises and draws together the eyebrows"};
    out.push_back({raise + draw, 0, pick(rng, k)});
  } else if (raise > 0.4f) {
    static const char* const k[] = {"raises the eyebrows high", "lifts the eyebrows",
                                    "arches the eyebrows upward", "shoots the eyebrows up"};
    out.push_back({raise * 1.2f, 0, pick(rng, k)});
  } else if (inner > 0.4f && raise > 0.15f) {
    static const char* const k[] = {"raises the eyebrows into a worried slant",
                                    "lifts the brows, the inner ends highest",
                                    "pushes the eyebrows up at the middle in a pleading look"};
    out.push_back({inner * 1.2f, 0, pick(rng, k)});
  } else if (inner > 0.4f) {
    static const char* const k[] = {"raises the inner ends of the eyebrows",
                                    "tilts the eyebrows up at the middle",
                                    "lifts the inner corners of the brows"};
    std::string text = pick(rng, k);
    if (draw > 0.3f) text += rng.chance(0.5) ? " and draws them together" : " and knits them";
    out.push_back({inner * 1.2f, 0, text});
  } else if (draw > 0.5f && raise < -0.2f) {
    static const char* const k[] = {"lowers the eyebrows and draws them together",
                                    "knits the brows into a deep frown",
                                    "pulls the eyebrows down into a frown"};
    out.push_back({draw * 1.2f, 0, pick(rng, k)});
  } else if (draw > 0.3f) {
    static const char* const k[] = {"knits the brows slightly", "draws the eyebrows together",
                                    "frowns slightly"};
    out.push_back({draw, 0, pick(rng, k)});
  } else if (raise < -0.25f) {
    out.push_back({-raise, 0, "lowers the eyebrows"});
  }

  // Eyes.
  if (lid > 0.55f) {
    static const char* const k[] = {"widens the eyes", "opens the eyes wide",
                                    "stares with wide-open eyes"};
    out.push_back({lid, 1, pick(rng, k)});
  } else if (lid > 0.2f) {
    out.push_back({lid * 0.8f, 1, "opens the eyes a little wider"});
  } else if (cheek > 0.4f) {
    static const char* const k[] = {"squints so that the eyes crinkle at the corners",
                                    "narrows the eyes as the cheeks rise",
                                    "raises the cheeks until the eyes crinkle"};
    out.push_back({cheek * 0.9f, 1, pick(rng, k)});
  } else if (lid < -0.3f) {
    if (draw > 0.45f && raise < -0.1f && gaze_y < 0.4f) {
      static const char* const k[] = {"narrows the eyes", "tightens the eyelids into a glare",
                                      "squints hard"};
      out.push_back({-lid, 1, pick(rng, k)});
    } else {
      static const char* const k[] = {"lets the eyelids droop", "looks out from heavy lids",
                                      "half-closes the eyes"};
      out.push_back({-lid * 0.9f, 1, pick(rng, k)});
    }
  }

  // Nose.
  if (a[A::kNoseWrinkle] > 0.4f) {
    static const char* const k[] = {"wrinkles the nose", "scrunches up the nose"};
    out.push_back({a[A::kNoseWrinkle] * 1.5f, 2, pick(rng, k)});
  }

  // Mouth.
  const float up_hi = std::max(cl, cr), up_lo = std::min(cl, cr);
  if (up_lo > 0.45f && jaw > 0.25f) {
    static const char* const k[] = {"breaks into a wide open-mouthed smile",
                                    "smiles broadly, showing the teeth",
                                    "grins with the mouth open"};
    out.push_back({up_lo * 1.6f, 3, pick(rng, k)});
  } else if (up_lo > 0.45f) {
    static const char* const k[] = {"smiles with the lips closed",
                                    "smiles as the corners of the mouth turn up",
                                    "pulls the lip corners up into a smile"};
    out.push_back({up_lo * 1.6f, 3, pick(rng, k)});
  } else if (up_hi > 0.45f && up_lo < 0.3f) {
    static const char* const k[] = {"raises one corner of the mouth in a lopsided smirk",
                                    "tightens and lifts one side of the mouth",
                                    "gives a one-sided smirk"};
    out.push_back({up_hi * 1.8f, 3, pick(rng, k)});
  }
  if (ulr > 0.4f) {
    if (jaw > 0.2f && draw > 0.5f) {
      static const char* const k[] = {"bares the teeth", "raises the upper lip to bare the teeth"};
      out.push_back({ulr * 1.3f, 4, pick(rng, k)});
    } else {
      static const char* const k[] = {"raises the upper lip", "curls the upper lip up"};
      out.push_back({ulr * 1.1f, 4, pick(rng, k)});
    }
  }
  if (stretch > 0.5f) {
    static const char* const k[] = {"stretches the lips back toward the ears",
                                    "pulls the lips tight and sideways"};
    out.push_back({stretch * 1.1f, 4, pick(rng, k)});
  }
  if (press > 0.4f) {
    static const char* const k[] = {"presses the lips tightly together",
                                    "presses the lips into a thin line", "tightens the lips"};
    out.push_back({press * 1.1f, 4, pick(rng, k)});
  }
  if (up_hi < -0.4f) {
    static const char* const k[] = {"turns the corners of the mouth down",
                                    "pulls the mouth corners downward",
                                    "lets the corners of the mouth sag"};
    out.push_back({-up_hi * 1.3f, 4, pick(rng, k)});
  }
  if (jaw > 0.55f && up_lo <= 0.45f) {
    static const char* const round[] = {"lets the mouth fall open into an O",
                                        "drops the jaw into a round open mouth"};
    static const char* const k[] = {"drops the jaw", "lets the mouth fall open"};
    out.push_back({jaw * 1.1f, 5, stretch < -0.2f ? pick(rng, round) : pick(rng, k)});
  } else if (jaw > 0.15f && up_lo <= 0.45f && !(ulr > 0.4f && jaw > 0.2f && draw > 0.5f)) {
    static const char* const k[] = {"parts the lips slightly", "lets the mouth hang slightly open"};
    out.push_back({jaw * 1.2f, 5, pick(rng, k)});
  }
  if (chin > 0.3f) {
    static const char* const k[] = {"pushes the chin up", "pushes the lower lip up"};
    out.push_back({chin * 0.6f, 5, pick(rng, k)});
  }

  // Gaze and head.
  if (s.dart_amplitude > 0.f) {
    static const char* const k[] = {"glances nervously from side to side",
                                    "lets the eyes dart left and right",
                                    "keeps shifting the gaze from side to side"};
    out.push_back({2.f, 6, pick(rng, k)});
  }
  if (gaze_y > 0.5f) {
    static const char* const k[] = {"looks down", "casts the eyes down", "lowers the gaze"};
    out.push_back({gaze_y * 1.2f, 6, pick(rng, k)});
  } else if (gaze_y > 0.25f) {
    out.push_back({gaze_y, 6, "glances downward"});
  } else if (gaze_y < -0.25f) {
    static const char* const k[] = {"looks up from under the brows", "gazes upward"};
    out.push_back({-gaze_y * 1.2f, 6, pick(rng, k)});
  }
  if (s.shake_amplitude > 0.f) {
    static const char* const k[] = {"slowly shakes the head", "shakes the head from side to side"};
    out.push_back({1.5f, 7, pick(rng, k)});
  }
  if (pitch > 6.f) {
    static const char* const k[] = {"lets the head sink forward", "bows the head",
                                    "lets the head droop"};
    out.push_back({pitch / 8.f, 7, pick(rng, k)});
  } else if (pitch < -3.5f) {
    static const char* const k[] = {"lifts the chin slightly", "tilts the head back a little"};
    out.push_back({-pitch / 10.f, 7, pick(rng, k)});
  }
  if (std::abs(roll) > 5.f) {
    static const char* const k[] = {"tilts the head to one side", "cocks the head to the side"};
    out.push_back({std::abs(roll) / 8.f, 7, pick(rng, k)});
  }
  if (std::abs(yaw) > 6.f && s.shake_amplitude == 0.f) {
    out.push_back({std::abs(yaw) / 12.f, 7, "turns the head slightly away"});
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

}  // namespace

std::string make_caption(const ExpressionScript& script, const IdleMotion& idle,
                         const Identity& identity, const Scene& scene, const ClipSettings& settings,
                         std::uint64_t seed) {
  Rng rng(mix_seed(seed, hash_string(script.expression)), Stream::kCaption);
  static const char* const kSubjects[] = {"A person with ", "Someone with ", "A person with "};
  std::string text;
  if (settings.caption_context) {
    text = pick(rng, kSubjects) + identity.hair_words;
    if (!identity.extra_words.empty() && rng.chance(0.7)) text += " and " + identity.extra_words;
    text += " ";
  } else {
    static const char* const kBare[] = {"A person ", "Someone ", "The person "};
    text = pick(rng, kBare);
  }

  std::vector<Clause> cs = clauses(script, rng);
  if (cs.empty()) {
    static const char* const k[] = {"keeps a relaxed, neutral face",
                                    "looks ahead calmly without any expression",
                                    "holds a still, blank expression", "keeps the face at rest"};
    text += pick(rng, k);
    if (!idle.blink_centres.empty() && rng.chance(0.6))
      text += " and blinks";
    else if (rng.chance(0.5))
      text += ", the gaze steady";
  } else {
    // The most telling movements, then told top to bottom.
    std::stable_sort(cs.begin(), cs.end(),
                     [](const Clause& x, const Clause& y) { return x.salience > y.salience; });
    const std::size_t keep = std::min(cs.size(), static_cast<std::size_t>(3 + rng.index(3)));
    cs.resize(keep);
    std::stable_sort(cs.begin(), cs.end(),
                     [](const Clause& x, const Clause& y) { return x.order < y.order; });
    std::vector<std::string> parts;
    for (const Clause& c : cs) parts.push_back(c.text);

    // Speeds relative to the clip: a clip is one expression episode whatever its frame rate.
    const ExpressionTiming& t = script.timing;
    const float span = static_cast<float>(std::max(settings.n_frames - 1, 1));
    const float rise = (t.apex_start - t.onset_start) / span;
    const float hold = (t.apex_end - t.apex_start) / span;
    if (settings.n_frames >= 3) {
      if (rise < 0.16f) {
        static const char* const k[] = {"suddenly ", "abruptly ", "quickly "};
        text += pick(rng, k);
      } else if (rise > 0.26f) {
        static const char* const k[] = {"slowly ", "gradually "};
        text += pick(rng, k);
      }
    }
    text += join(parts);
    if (t.onset_start > 0.f && t.offset_end < settings.n_frames - 1) {
      if (hold > 0.3f && rng.chance(0.6)) text += ", holds it for a moment";
      if (t.residual < 0.15f) {
        static const char* const k[] = {", then relaxes back to a neutral face",
                                        ", then the expression fades",
                                        " before the face relaxes again"};
        text += pick(rng, k);
      } else {
        static const char* const k[] = {", and the expression only partly fades",
                                        ", then relaxes a little"};
        text += pick(rng, k);
      }
    }
  }
  text += ".";
  if (settings.caption_context && rng.chance(0.5) && !scene.background_words.empty()) {
    text += " Filmed " + scene.background_words;
    if (!scene.light_words.empty()) text += ", " + scene.light_words;
    text += ".";
  }
  return text;
}

}  // namespace hesp::synth::detail

// SPDX-License-Identifier: LGPL-2.1-or-later
#include <algorithm>
#include <cmath>
#include <set>

#include "hesp/error.h"
#include "hesp/synth.h"
#include "synth/expression_script.h"
#include "synth/synth_rng.h"
#include "util/strings.h"

namespace hesp::synth {

namespace {

const char* const kActionNames[kActionCount] = {
    "brow_raise",       "brow_inner_raise", "brow_draw",       "lid_open",
    "cheek_raise",      "nose_wrinkle",     "upper_lip_raise", "lip_corner_left",
    "lip_corner_right", "lip_stretch",      "lip_press",       "chin_raise",
    "jaw_drop",         "gaze_x",           "gaze_y",          "head_pitch",
    "head_yaw",         "head_roll",        "blink",
};

// MAFW order: the generator's expression index is the MAFW id.
const char* const kExpressionNames[] = {
    "Angry",    "Disgust",  "Fear",    "Happy",        "Neutral",        "Sad",
    "Surprise", "Contempt", "Anxiety", "Helplessness", "Disappointment",
};
constexpr int kExpressionCount = sizeof(kExpressionNames) / sizeof(kExpressionNames[0]);

using A = Action;

// Typical apex per expression and variant. Variants are alternative ways people show the same
// emotion (a closed or an open smile); make_script picks one per clip.
FaceActions profile(int expression, int variant) {
  FaceActions a;
  switch (expression) {
    case 0:  // Angry: lowered, knitted brows, tightened lids; pressed lips or a bared snarl.
      a[A::kBrowRaise] = -0.5f;
      a[A::kBrowDraw] = 1.f;
      a[A::kLidOpen] = -0.35f;
      a[A::kHeadPitch] = 3.f;
      if (variant == 0) {
        a[A::kLipPress] = 0.85f;
        a[A::kChinRaise] = 0.35f;
      } else {
        a[A::kJawDrop] = 0.4f;
        a[A::kUpperLipRaise] = 0.55f;
        a[A::kLipStretch] = 0.35f;
        a[A::kLipCornerLeft] = a[A::kLipCornerRight] = -0.2f;
      }
      break;
    case 1:  // Disgust: wrinkled nose, raised upper lip, lowered brows, narrowed eyes.
      a[A::kNoseWrinkle] = 1.f;
      a[A::kUpperLipRaise] = 0.85f;
      a[A::kBrowDraw] = 0.55f;
      a[A::kBrowRaise] = -0.35f;
      a[A::kLidOpen] = -0.45f;
      a[A::kCheekRaise] = 0.4f;
      a[A::kLipCornerLeft] = -0.4f;
      a[A::kLipCornerRight] = -0.25f;
      a[A::kChinRaise] = 0.3f;
      a[A::kHeadPitch] = -3.f;
      if (variant == 1) a[A::kHeadYaw] = 9.f;  // turning away; the side is drawn per clip
      break;
    case 2:  // Fear: raised and drawn-together brows, wide eyes, lips stretched sideways.
      a[A::kBrowRaise] = 0.75f;
      a[A::kBrowInnerRaise] = 0.6f;
      a[A::kBrowDraw] = 0.45f;
      a[A::kLidOpen] = 1.f;
      a[A::kLipStretch] = 0.9f;
      a[A::kJawDrop] = variant == 0 ? 0.3f : 0.5f;
      a[A::kLipCornerLeft] = a[A::kLipCornerRight] = -0.15f;
      a[A::kHeadPitch] = -4.f;
      break;
    case 3:  // Happy: lip corners pulled up, cheeks raised (crinkled eyes); closed or open smile.
      a[A::kLipCornerLeft] = a[A::kLipCornerRight] = 1.f;
      a[A::kCheekRaise] = 0.85f;
      a[A::kLidOpen] = -0.3f;
      a[A::kBrowRaise] = 0.1f;
      if (variant == 1) {
        a[A::kJawDrop] = 0.45f;
        a[A::kLipStretch] = 0.15f;
      }
      break;
    case 4:  // Neutral: nothing moves beyond idle motion.
      break;
    case 5:  // Sad: inner brows raised, lids drooping, corners down, chin up, gaze and head down.
      a[A::kBrowInnerRaise] = 0.95f;
      a[A::kBrowDraw] = 0.35f;
      a[A::kLidOpen] = -0.4f;
      a[A::kLipCornerLeft] = a[A::kLipCornerRight] = -0.75f;
      a[A::kChinRaise] = 0.5f;
      a[A::kGazeY] = variant == 0 ? 0.35f : 0.1f;
      a[A::kHeadPitch] = 6.f;
      break;
    case 6:  // Surprise: brows high, eyes wide, jaw dropped into a rounded mouth.
      a[A::kBrowRaise] = 1.f;
      a[A::kLidOpen] = 0.85f;
      a[A::kJawDrop] = variant == 0 ? 0.85f : 0.6f;
      a[A::kLipStretch] = -0.35f;
      a[A::kHeadPitch] = -4.f;
      break;
    case 7:  // Contempt: one lip corner tightened and raised, chin lifted, head tilted.
      a[A::kLipCornerLeft] = 0.85f;
      a[A::kLipCornerRight] = 0.05f;
      a[A::kLipPress] = 0.3f;
      a[A::kLidOpen] = -0.2f;
      a[A::kHeadPitch] = -5.f;
      a[A::kHeadRoll] = -4.f;
      a[A::kHeadYaw] = 5.f;
      break;
    case 8:  // Anxiety: inner brows raised and drawn, lips pressed, eyes shifting side to side.
      a[A::kBrowInnerRaise] = 0.7f;
      a[A::kBrowDraw] = 0.45f;
      a[A::kLidOpen] = 0.3f;
      a[A::kLipPress] = 0.65f;
      a[A::kLipStretch] = 0.2f;
      a[A::kGazeY] = 0.1f;
      break;
    case 9:  // Helplessness: inner and outer brows up, mouth slightly open, head drooping and
             // tilted, eyes looking up from under the brows.
      a[A::kBrowInnerRaise] = 0.85f;
      a[A::kBrowRaise] = 0.35f;
      a[A::kLidOpen] = -0.3f;
      a[A::kJawDrop] = 0.28f;
      a[A::kLipCornerLeft] = a[A::kLipCornerRight] = -0.3f;
      a[A::kHeadPitch] = 8.f;
      a[A::kHeadRoll] = 8.f;
      a[A::kGazeY] = -0.35f;
      break;
    case 10:  // Disappointment: corners down, brows lowered, heavy lids, gaze and head down.
      a[A::kLipCornerLeft] = a[A::kLipCornerRight] = -0.85f;
      a[A::kBrowDraw] = 0.5f;
      a[A::kBrowRaise] = -0.35f;
      a[A::kLidOpen] = -0.45f;
      a[A::kChinRaise] = 0.45f;
      a[A::kGazeY] = 0.8f;
      a[A::kHeadPitch] = 10.f;
      break;
    default:
      break;
  }
  return a;
}

int variant_count(int expression) {
  switch (expression) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 5:
    case 6:
    case 10:
      return 2;
    case 7:
    case 9:
      return 2;  // which side the corner / the head goes
    default:
      return 1;
  }
}

bool is_head_angle(int i) {
  return i == static_cast<int>(A::kHeadPitch) || i == static_cast<int>(A::kHeadYaw) ||
         i == static_cast<int>(A::kHeadRoll);
}

float smoothstep(float x) {
  x = std::clamp(x, 0.f, 1.f);
  return x * x * (3.f - 2.f * x);
}

}  // namespace

const char* action_name(Action action) {
  const int i = static_cast<int>(action);
  return i >= 0 && i < kActionCount ? kActionNames[i] : "unknown";
}

std::vector<ExpressionClass> mafw_classes() {
  std::vector<ExpressionClass> out;
  for (int i = 0; i < kExpressionCount; ++i) out.push_back({i, kExpressionNames[i]});
  return out;
}

std::vector<ExpressionClass> dfew_classes() {
  return {{0, "Happy"},    {1, "Sad"},     {2, "Neutral"}, {3, "Angry"},
          {4, "Surprise"}, {5, "Disgust"}, {6, "Fear"}};
}

std::vector<std::string> expression_names() {
  return std::vector<std::string>(kExpressionNames, kExpressionNames + kExpressionCount);
}

std::vector<ExpressionClass> parse_classes(const std::string& spec_in) {
  const std::string spec = util::trim(spec_in);
  if (util::lower(spec) == "mafw") return mafw_classes();
  if (util::lower(spec) == "dfew") return dfew_classes();
  std::vector<ExpressionClass> out;
  std::set<int> ids;
  std::set<std::string> names;
  std::size_t pos = 0;
  int position = 0;
  while (pos <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', pos), spec.size());
    std::string item = util::trim(spec.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) throw SettingsError("class list '" + spec_in + "' has an empty entry");
    int id = position++;
    const auto colon = item.find(':');
    if (colon != std::string::npos) {
      const std::string id_text = util::trim(item.substr(0, colon));
      char* end = nullptr;
      const long v = std::strtol(id_text.c_str(), &end, 10);
      if (id_text.empty() || *end != '\0' || v < 0 || v > 9999)
        throw SettingsError("class list entry '" + item + "': '" + id_text +
                            "' is not a class id (0-9999)");
      id = static_cast<int>(v);
      item = util::trim(item.substr(colon + 1));
    }
    const int index = detail::expression_index(item);
    ExpressionClass c{id, kExpressionNames[index]};
    if (!ids.insert(c.id).second)
      throw SettingsError("class list '" + spec_in + "' uses id " + std::to_string(c.id) +
                          " twice");
    if (!names.insert(c.name).second)
      throw SettingsError("class list '" + spec_in + "' names " + c.name + " twice");
    out.push_back(c);
  }
  return out;
}

FaceActions nominal_apex(const std::string& expression) {
  return profile(detail::expression_index(expression), 0);
}

namespace detail {

int expression_index(const std::string& name) {
  const std::string key = util::lower(util::trim(name));
  for (int i = 0; i < kExpressionCount; ++i)
    if (util::lower(kExpressionNames[i]) == key) return i;
  std::string known;
  for (int i = 0; i < kExpressionCount; ++i)
    known += std::string(i ? ", " : "") + kExpressionNames[i];
  throw SettingsError("unknown expression '" + name + "' (known: " + known + ")");
}

float envelope(const ExpressionTiming& t, float frame) {
  if (frame <= t.onset_start) return 0.f;
  if (frame < t.apex_start)
    return smoothstep((frame - t.onset_start) / (t.apex_start - t.onset_start));
  if (frame <= t.apex_end) return 1.f;
  if (frame < t.offset_end)
    return 1.f -
           (1.f - t.residual) * smoothstep((frame - t.apex_end) / (t.offset_end - t.apex_end));
  return t.residual;
}

ExpressionScript make_script(const std::string& expression, std::uint64_t seed,
                             const ClipSettings& settings) {
  const int index = expression_index(expression);
  ExpressionScript s;
  s.expression = kExpressionNames[index];
  // The expression stream depends on the class too: same seed, other class = other variation.
  Rng rng(mix_seed(seed, hash_string(s.expression)), Stream::kExpression);
  s.variant = rng.index(variant_count(index));
  s.apex = profile(index, index == 7 || index == 9 ? 0 : s.variant);
  s.strength = rng.uniform(0.7f, 1.f);
  for (int i = 0; i < kActionCount; ++i) {
    float& v = s.apex.value[i];
    if (v == 0.f) continue;
    if (is_head_angle(i)) {
      v = v * s.strength + rng.normal(0.f, 1.5f);
    } else {
      v = std::clamp(v * s.strength + rng.normal(0.f, 0.07f), -1.1f, 1.1f);
    }
  }
  // Which side: the raised corner for contempt, the tilt for helplessness, the turn for disgust.
  if (index == 7 && s.variant == 1) {
    std::swap(s.apex[A::kLipCornerLeft], s.apex[A::kLipCornerRight]);
    s.apex[A::kHeadRoll] = -s.apex[A::kHeadRoll];
    s.apex[A::kHeadYaw] = -s.apex[A::kHeadYaw];
  }
  if (index == 9 && s.variant == 1) s.apex[A::kHeadRoll] = -s.apex[A::kHeadRoll];
  if (index == 1 && s.variant == 1 && rng.chance(0.5)) s.apex[A::kHeadYaw] = -s.apex[A::kHeadYaw];

  // Timing as fractions of the clip, so that even short clips show onset, apex and offset.
  const float last = static_cast<float>(std::max(settings.n_frames - 1, 0));
  ExpressionTiming& t = s.timing;
  if (settings.n_frames < 3) {
    // Too short for a time course: show the apex.
    t = {-2.f, -1.f, last + 1.f, last + 2.f, 1.f};
  } else {
    const float onset = rng.uniform(0.04f, 0.22f);
    float rise = rng.uniform(0.12f, 0.32f);
    float hold = rng.uniform(0.12f, 0.38f);
    float fall = rng.uniform(0.12f, 0.3f);
    const float room = 0.97f - onset;
    const float used = rise + hold + fall;
    if (used > room) {
      rise *= room / used;
      hold *= room / used;
      fall *= room / used;
    }
    t.onset_start = onset * last;
    t.apex_start = (onset + rise) * last;
    t.apex_end = (onset + rise + hold) * last;
    t.offset_end = (onset + rise + hold + fall) * last;
    t.residual = rng.uniform(0.f, 0.35f);
  }
  if (index == 8) {
    s.dart_amplitude = rng.uniform(0.5f, 0.85f) * s.strength;
    s.dart_shifts = static_cast<float>(2 + rng.index(3));
    s.dart_phase = rng.uniform(0.f, 1.f);
  }
  if (index == 10 && s.variant == 1) {
    s.shake_amplitude = rng.uniform(5.f, 9.f);
    s.shake_cycles = rng.uniform(1.f, 1.6f);
  }
  return s;
}

IdleMotion make_idle(std::uint64_t seed, const ClipSettings& settings) {
  IdleMotion m;
  if (!settings.idle_motion) return m;
  Rng rng(seed, Stream::kIdle);
  const double fps = settings.fps;
  // About 17 blinks a minute, each closing the lids for ~0.2 s.
  const double rate = 0.28;
  const double duration = settings.n_frames / fps;
  double t = -std::log(1.0 - rng.uniform()) / rate - 0.5;
  while (t < duration) {
    m.blink_centres.push_back(static_cast<float>(t * fps));
    t += 0.4 - std::log(1.0 - rng.uniform()) / rate;
  }
  m.blink_half_width = static_cast<float>(std::max(0.6, 0.1 * fps));
  const float amp[3] = {1.2f, 2.f, 1.2f};
  for (int i = 0; i < 3; ++i) {
    m.sway_amp[i] = rng.uniform(0.2f, 1.f) * amp[i];
    m.sway_freq[i] = static_cast<float>(rng.uniform(0.1f, 0.45f) / fps);
    m.sway_phase[i] = rng.uniform(0.f, 6.2831853f);
  }
  for (int i = 0; i < 2; ++i) {
    m.gaze_amp[i] = rng.uniform(0.f, 0.1f);
    m.gaze_freq[i] = static_cast<float>(rng.uniform(0.15f, 0.6f) / fps);
    m.gaze_phase[i] = rng.uniform(0.f, 6.2831853f);
  }
  m.drift[0] = rng.uniform(-0.06f, 0.06f);
  m.drift[1] = rng.uniform(-0.04f, 0.04f);
  return m;
}

FaceActions expression_actions(const ExpressionScript& s, int frame) {
  const float f = static_cast<float>(frame);
  const float e = envelope(s.timing, f);
  FaceActions a;
  for (int i = 0; i < kActionCount; ++i) a.value[i] = s.apex.value[i] * e;
  const float span = std::max(s.timing.offset_end - s.timing.onset_start, 1e-3f);
  const float phase = (f - s.timing.onset_start) / span;
  if (s.dart_amplitude > 0.f) {
    // Saccades: the gaze holds, then jumps; tanh of a sine gives plateaus with quick switches.
    const float w = std::sin(3.14159265f * (phase * s.dart_shifts + s.dart_phase));
    a[A::kGazeX] += s.dart_amplitude * e * std::tanh(5.f * w) / std::tanh(5.f);
  }
  if (s.shake_amplitude > 0.f) {
    a[A::kHeadYaw] += s.shake_amplitude * e * std::sin(6.2831853f * s.shake_cycles * phase);
  }
  return a;
}

void add_idle(const IdleMotion& m, int frame, FaceActions& a) {
  const float f = static_cast<float>(frame);
  float blink = 0.f;
  for (float c : m.blink_centres)
    blink = std::max(blink, 1.f - std::abs(f - c) / m.blink_half_width);
  a[A::kBlink] = std::clamp(a[A::kBlink] + blink, 0.f, 1.f);
  const Action head[3] = {A::kHeadPitch, A::kHeadYaw, A::kHeadRoll};
  for (int i = 0; i < 3; ++i)
    a[head[i]] += m.sway_amp[i] * std::sin(6.2831853f * m.sway_freq[i] * f + m.sway_phase[i]);
  const Action gaze[2] = {A::kGazeX, A::kGazeY};
  for (int i = 0; i < 2; ++i)
    a[gaze[i]] += m.gaze_amp[i] * std::sin(6.2831853f * m.gaze_freq[i] * f + m.gaze_phase[i]);
}

Point idle_drift(const IdleMotion& m, int frame, int n_frames) {
  const float t = n_frames > 1 ? static_cast<float>(frame) / (n_frames - 1) - 0.5f : 0.f;
  return {m.drift[0] * t, m.drift[1] * t};
}

}  // namespace detail

}  // namespace hesp::synth

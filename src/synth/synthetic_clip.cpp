// SPDX-License-Identifier: LGPL-2.1-or-later
#include <cmath>
#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/synth.h"
#include "synth/captions.h"
#include "synth/expression_face.h"
#include "synth/expression_script.h"
#include "synth/synth_rng.h"

namespace hesp::synth {

namespace {

const char* hair_style_name(detail::HairStyle s) {
  switch (s) {
    case detail::HairStyle::kBald:
      return "bald";
    case detail::HairStyle::kShort:
      return "short";
    case detail::HairStyle::kBangs:
      return "fringe";
    case detail::HairStyle::kLong:
      return "long";
    case detail::HairStyle::kCurly:
      return "curly";
    case detail::HairStyle::kBun:
      return "bun";
  }
  return "?";
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

void validate(const ClipSettings& s) {
  if (s.size < 32 || s.size > 2048)
    throw SettingsError("synthetic clip size " + std::to_string(s.size) +
                        " is out of range (32-2048 pixels)");
  if (s.n_frames < 1 || s.n_frames > 10000)
    throw SettingsError("synthetic clip length " + std::to_string(s.n_frames) +
                        " is out of range (1-10000 frames)");
  if (!(s.fps > 0.0 && s.fps <= 1000.0))
    throw SettingsError("synthetic clip frame rate must be in (0, 1000] frames per second");
}

struct SyntheticClip::Impl {
  std::uint64_t seed;
  ClipSettings settings;
  detail::ExpressionScript script;
  detail::IdleMotion idle;
  detail::Identity identity;
  detail::Scene scene;
  std::unique_ptr<detail::FaceRenderer> renderer;
  std::string caption;
  int apex_frame = 0;

  std::uint64_t noise_seed(int frame) const {
    return detail::mix_seed(seed, 0x6e6f697365ULL + static_cast<std::uint64_t>(frame));
  }
  void check(int frame) const {
    if (frame < 0 || frame >= settings.n_frames)
      throw InputError("frame " + std::to_string(frame) + " is outside the clip (0-" +
                       std::to_string(settings.n_frames - 1) + ")");
  }
};

SyntheticClip::SyntheticClip(const std::string& expression, std::uint64_t seed,
                             ClipSettings settings)
    : impl_(std::make_unique<Impl>()) {
  validate(settings);
  Impl& m = *impl_;
  m.seed = seed;
  m.settings = settings;
  m.script = detail::make_script(expression, seed, settings);
  m.idle = detail::make_idle(seed, settings);
  m.identity = detail::sample_identity(seed);
  m.scene = detail::sample_scene(seed, settings.camera_effects);
  m.renderer = std::make_unique<detail::FaceRenderer>(m.identity, m.scene, settings.size, seed);
  m.caption = detail::make_caption(m.script, m.idle, m.identity, m.scene, settings, seed);
  float best = -1.f;
  for (int f = 0; f < settings.n_frames; ++f) {
    const float e = detail::envelope(m.script.timing, static_cast<float>(f));
    if (e > best) {
      best = e;
      m.apex_frame = f;
    }
  }
}

SyntheticClip::~SyntheticClip() = default;
SyntheticClip::SyntheticClip(SyntheticClip&&) noexcept = default;
SyntheticClip& SyntheticClip::operator=(SyntheticClip&&) noexcept = default;

const std::string& SyntheticClip::expression() const { return impl_->script.expression; }
std::uint64_t SyntheticClip::seed() const { return impl_->seed; }
const ClipSettings& SyntheticClip::settings() const { return impl_->settings; }
const ExpressionTiming& SyntheticClip::timing() const { return impl_->script.timing; }
const FaceActions& SyntheticClip::apex() const { return impl_->script.apex; }
const std::string& SyntheticClip::caption() const { return impl_->caption; }
int SyntheticClip::apex_frame() const { return impl_->apex_frame; }

float SyntheticClip::intensity(int frame) const {
  impl_->check(frame);
  return detail::envelope(impl_->script.timing, static_cast<float>(frame));
}

FaceActions SyntheticClip::actions(int frame) const {
  impl_->check(frame);
  FaceActions a = detail::expression_actions(impl_->script, frame);
  detail::add_idle(impl_->idle, frame, a);
  return a;
}

void SyntheticClip::render(int index, std::uint8_t* rgb) const {
  render_actions(index, actions(index), rgb);
}

void SyntheticClip::render_actions(int index, const FaceActions& a, std::uint8_t* rgb) const {
  impl_->check(index);
  const Impl& m = *impl_;
  m.renderer->render(a, detail::idle_drift(m.idle, index, m.settings.n_frames), m.noise_seed(index),
                     rgb);
}

Landmarks SyntheticClip::landmarks(int index) const { return landmarks_for(index, actions(index)); }

Landmarks SyntheticClip::landmarks_for(int index, const FaceActions& a) const {
  impl_->check(index);
  const Impl& m = *impl_;
  return m.renderer->landmarks(a, detail::idle_drift(m.idle, index, m.settings.n_frames));
}

Box SyntheticClip::face_box(int index) const {
  impl_->check(index);
  const Impl& m = *impl_;
  return m.renderer->face_box(actions(index),
                              detail::idle_drift(m.idle, index, m.settings.n_frames));
}

std::string SyntheticClip::metadata_json() const {
  const Impl& m = *impl_;
  using nlohmann::json;
  json apex = json::object();
  for (int i = 0; i < kActionCount; ++i)
    if (m.script.apex.value[i] != 0.f)
      apex[action_name(static_cast<Action>(i))] = round3(m.script.apex.value[i]);
  const ExpressionTiming& t = m.script.timing;
  json j = {
      {"expression", m.script.expression},
      {"seed", m.seed},
      {"variant", m.script.variant},
      {"strength", round3(m.script.strength)},
      {"frames", m.settings.n_frames},
      {"size", m.settings.size},
      {"fps", m.settings.fps},
      {"timing",
       {{"onset_start", round3(t.onset_start)},
        {"apex_start", round3(t.apex_start)},
        {"apex_end", round3(t.apex_end)},
        {"offset_end", round3(t.offset_end)},
        {"residual", round3(t.residual)}}},
      {"apex_frame", m.apex_frame},
      {"apex_actions", apex},
      {"blinks", m.idle.blink_centres.size()},
      {"identity",
       {{"hair", hair_style_name(m.identity.hair_style)},
        {"glasses", m.identity.glasses},
        {"stubble", m.identity.stubble > 0.f}}},
      {"pose_deg",
       {{"yaw", round3(m.scene.yaw)},
        {"pitch", round3(m.scene.pitch)},
        {"roll", round3(m.scene.roll)}}},
      {"caption", m.caption},
  };
  if (m.script.dart_amplitude > 0.f) j["gaze_shifts"] = round3(m.script.dart_shifts);
  if (m.script.shake_amplitude > 0.f) j["head_shake_deg"] = round3(m.script.shake_amplitude);
  return j.dump();
}

}  // namespace hesp::synth

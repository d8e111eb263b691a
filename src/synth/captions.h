// SPDX-License-Identifier: LGPL-2.1-or-later
// Sample-level captions in the style EmoCLIP trains on: who is seen and what their face does,
// phrased from the clip's actual action parameters and timing rather than from its class name.
#pragma once

#include <cstdint>
#include <string>

#include "synth/expression_face.h"
#include "synth/expression_script.h"

namespace hesp::synth::detail {

std::string make_caption(const ExpressionScript& script, const IdleMotion& idle,
                         const Identity& identity, const Scene& scene, const ClipSettings& settings,
                         std::uint64_t seed);

}  // namespace hesp::synth::detail

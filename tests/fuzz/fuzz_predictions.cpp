// SPDX-License-Identifier: LGPL-2.1-or-later
// read_predictions on arbitrary bytes, then what `hesp eval` does with an accepted file: the
// metrics, the confusion matrix and the JSON report. A refused file must be a CorruptFileError, a
// set that cannot be evaluated an InputError; an accepted set must survive predictions_to_json /
// predictions_from_json unchanged.
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "fuzz_support.h"
#include "hesp/error.h"
#include "hesp/predictions.h"

namespace {

using hesp::eval::PredictionSet;

bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

void check_round_trip(const PredictionSet& set) {
  const PredictionSet back =
      hesp::eval::predictions_from_json(hesp::eval::predictions_to_json(set), set.source);
  HESP_FUZZ_CHECK(back.name == set.name);
  HESP_FUZZ_CHECK(back.classes == set.classes);
  HESP_FUZZ_CHECK(back.score_rule == set.score_rule);
  HESP_FUZZ_CHECK(back.clips.size() == set.clips.size());
  for (std::size_t i = 0; i < set.clips.size(); ++i) {
    const auto& a = set.clips[i];
    const auto& b = back.clips[i];
    HESP_FUZZ_CHECK(a.id == b.id && a.label == b.label && a.logits == b.logits);
    HESP_FUZZ_CHECK(same_number(a.open_set_score, b.open_set_score));
  }
}

void evaluate(const PredictionSet& set) {
  HESP_FUZZ_CHECK(!set.classes.empty());
  for (const auto& c : set.clips) {
    HESP_FUZZ_CHECK(c.logits.size() == set.classes.size());
    HESP_FUZZ_CHECK(c.label == hesp::eval::kUnknownLabel ||
                    (c.label >= 0 && c.label < static_cast<int>(set.classes.size())));
  }
  std::optional<double> threshold;
  if (!set.clips.empty()) threshold = set.clips.front().open_set_score;
  try {
    const auto run = hesp::eval::evaluate_run(set, threshold);
    (void)hesp::eval::evaluation_report({run}).dump();
  } catch (const hesp::InputError&) {
    // No known clip, a NaN score: the set is valid but cannot be scored.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static hesp::fuzz::InputFile input;
  const std::string& path = input.write(data, size);
  try {
    const PredictionSet set = hesp::eval::read_predictions(path);
    check_round_trip(set);
    evaluate(set);
  } catch (const hesp::CorruptFileError&) {
  }
  // The same file read under each rule a user can force with --score-rule.
  for (auto rule : {hesp::eval::ScoreRule::kGiven, hesp::eval::ScoreRule::kEnergy}) {
    try {
      const PredictionSet set = hesp::eval::read_predictions(path, rule);
      HESP_FUZZ_CHECK(set.score_rule == rule);
      evaluate(set);
    } catch (const hesp::CorruptFileError&) {
    }
  }
  return 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/open_set.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "hesp/error.h"
#include "hesp/expression_model.h"

namespace hesp {

const std::vector<std::string>& open_set_score_rules() {
  static const std::vector<std::string> rules = {"max_logit", "max_softmax", "energy"};
  return rules;
}

double open_set_score(const std::string& rule, const std::vector<double>& logits) {
  if (logits.empty()) throw InputError("open-set score of an empty logit vector");
  const double top = *std::max_element(logits.begin(), logits.end());
  if (rule == "max_logit") return top;
  // Both softmax forms subtract the maximum first so large logits cannot overflow exp().
  double sum = 0.0;
  for (double v : logits) sum += std::exp(v - top);
  if (rule == "max_softmax") return 1.0 / sum;
  if (rule == "energy") return top + std::log(sum);
  throw SettingsError("unknown open-set score rule '" + rule +
                      "' (expected max_logit, max_softmax or energy)");
}

namespace models {

double auroc(const std::vector<double>& known, const std::vector<double>& unknown) {
  if (known.empty() || unknown.empty()) return std::numeric_limits<double>::quiet_NaN();
  // Rank-sum form (Mann-Whitney U): sort unknown once, count below/equal per known score.
  std::vector<double> u = unknown;
  std::sort(u.begin(), u.end());
  double wins = 0.0;
  for (double k : known) {
    const auto lo = std::lower_bound(u.begin(), u.end(), k);
    const auto hi = std::upper_bound(u.begin(), u.end(), k);
    wins += static_cast<double>(lo - u.begin()) + 0.5 * static_cast<double>(hi - lo);
  }
  return wins / (static_cast<double>(known.size()) * static_cast<double>(u.size()));
}

double threshold_at_tpr(std::vector<double> known, double tpr) {
  std::sort(known.begin(), known.end());
  // Keep ceil(tpr * n) scores: the threshold is the smallest of those kept. The small epsilon
  // stops 0.95 * 20 = 19.000000000000004 from asking for a 20th score.
  const auto n = static_cast<double>(known.size());
  auto keep = static_cast<std::size_t>(std::ceil(tpr * n - 1e-9));
  keep = std::clamp<std::size_t>(keep, 1, known.size());
  return known[known.size() - keep];
}

double fraction_kept(const std::vector<double>& scores, double threshold) {
  if (scores.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto kept =
      std::count_if(scores.begin(), scores.end(), [&](double s) { return s >= threshold; });
  return static_cast<double>(kept) / static_cast<double>(scores.size());
}

ExpressionResult result_from_logits(std::vector<double> logits,
                                    const std::vector<std::string>& class_names,
                                    const std::string& rule, double threshold) {
  ExpressionResult r;
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  r.class_scores.resize(logits.size());
  for (std::size_t j = 0; j < logits.size(); ++j)
    sum += r.class_scores[j] = std::exp(logits[j] - top);
  std::size_t best = 0;
  for (std::size_t j = 0; j < logits.size(); ++j) {
    r.class_scores[j] /= sum;
    if (r.class_scores[j] > r.class_scores[best]) best = j;
  }
  r.confidence = r.class_scores[best];
  r.open_set_score = open_set_score(rule, logits);
  r.is_unknown = r.open_set_score < threshold;
  r.label_id = r.is_unknown ? -1 : static_cast<int>(best);
  r.label = r.is_unknown ? "unknown" : class_names[best];
  r.logits = std::move(logits);
  return r;
}

}  // namespace models
}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/open_set_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <utility>

#include "hesp/error.h"

namespace hesp::eval {

namespace {

void check_scores(const std::vector<double>& scores, const char* what) {
  if (scores.empty())
    throw InputError(std::string("no ") + what + " scores: the rates would divide by zero");
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (std::isnan(scores[i]))
      throw InputError(std::string(what) + " score " + std::to_string(i) + " is NaN");
}

std::string clip_name(const std::vector<ClipPrediction>& clips, std::size_t i) {
  std::string s = "clip " + std::to_string(i);
  if (!clips[i].id.empty()) s += " (" + clips[i].id + ")";
  return s;
}

}  // namespace

int predicted_class(const std::vector<double>& logits) {
  if (logits.empty()) return -1;
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

const char* score_rule_name(ScoreRule rule) {
  switch (rule) {
    case ScoreRule::kMaxLogit:
      return "max_logit";
    case ScoreRule::kMaxSoftmax:
      return "max_softmax";
    case ScoreRule::kEnergy:
      return "energy";
    case ScoreRule::kGiven:
      return "given";
  }
  return "?";
}

ScoreRule parse_score_rule(const std::string& name) {
  for (ScoreRule r :
       {ScoreRule::kMaxLogit, ScoreRule::kMaxSoftmax, ScoreRule::kEnergy, ScoreRule::kGiven})
    if (name == score_rule_name(r)) return r;
  throw SettingsError("unknown open-set score rule '" + name +
                      "' (expected max_logit, max_softmax, energy or given)");
}

double open_set_score(const std::vector<double>& logits, ScoreRule rule) {
  if (rule == ScoreRule::kGiven)
    throw SettingsError("score rule 'given' takes the score from the clip; it cannot be computed");
  if (logits.empty()) throw InputError("cannot score a clip without logits");
  const double top = *std::max_element(logits.begin(), logits.end());
  if (rule == ScoreRule::kMaxLogit) return top;
  // Subtracting the maximum keeps exp() finite; both rules are exact rewrites of the plain form.
  double sum = 0.;
  for (double l : logits) sum += std::exp(l - top);
  if (rule == ScoreRule::kMaxSoftmax) return 1. / sum;
  return top + std::log(sum);
}

ThresholdSweep threshold_sweep(const std::vector<double>& known,
                               const std::vector<double>& unknown) {
  check_scores(known, "known");
  check_scores(unknown, "unknown");
  std::vector<double> k_sorted = known;
  std::vector<double> u_sorted = unknown;
  std::sort(k_sorted.begin(), k_sorted.end());
  std::sort(u_sorted.begin(), u_sorted.end());
  const std::size_t nk = k_sorted.size();
  const std::size_t nu = u_sorted.size();
  ThresholdSweep s;
  s.tp.reserve(nk + nu + 1);
  s.fp.reserve(nk + nu + 1);
  std::int64_t tp = static_cast<std::int64_t>(nk);
  std::int64_t fp = static_cast<std::int64_t>(nu);
  s.tp.push_back(tp);
  s.fp.push_back(fp);
  std::size_t k = 0;
  std::size_t u = 0;
  while (k < nk || u < nu) {
    // The known score goes first unless the unknown one is strictly lower: the reference's tie
    // rule.
    const bool reject_unknown = k == nk || (u < nu && u_sorted[u] < k_sorted[k]);
    if (reject_unknown) {
      ++u;
      --fp;
    } else {
      ++k;
      --tp;
    }
    s.tp.push_back(tp);
    s.fp.push_back(fp);
  }
  return s;
}

RocCurve roc_curve(const std::vector<double>& known, const std::vector<double>& unknown) {
  const ThresholdSweep s = threshold_sweep(known, unknown);
  const double nk = static_cast<double>(known.size());
  const double nu = static_cast<double>(unknown.size());
  RocCurve c;
  c.tpr.reserve(s.tp.size() + 2);
  c.fpr.reserve(s.fp.size() + 2);
  c.tpr.push_back(1.);
  c.fpr.push_back(1.);
  for (std::size_t i = 0; i < s.tp.size(); ++i) {
    c.tpr.push_back(static_cast<double>(s.tp[i]) / nk);
    c.fpr.push_back(static_cast<double>(s.fp[i]) / nu);
  }
  c.tpr.push_back(0.);
  c.fpr.push_back(0.);
  return c;
}

double auroc(const std::vector<double>& known, const std::vector<double>& unknown) {
  const RocCurve c = roc_curve(known, unknown);
  // -trapz(1 - fpr, tpr): tpr falls along the curve, so each step adds its width times the mean
  // height of 1 - fpr.
  double area = 0.;
  for (std::size_t i = 0; i + 1 < c.tpr.size(); ++i)
    area += (c.tpr[i + 1] - c.tpr[i]) * ((1. - c.fpr[i + 1]) + (1. - c.fpr[i])) / 2.;
  // 0 - area rather than -area: no separation at all is 0, not -0 (which prints as "-0.00").
  return 100. * (0. - area);
}

double tnr_at_tpr95(const std::vector<double>& known, const std::vector<double>& unknown) {
  const ThresholdSweep s = threshold_sweep(known, unknown);
  const double nk = static_cast<double>(known.size());
  const double nu = static_cast<double>(unknown.size());
  std::size_t best = 0;
  double best_gap = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < s.tp.size(); ++i) {
    const double gap = std::abs(static_cast<double>(s.tp[i]) / nk - .95);
    if (gap < best_gap) {  // strict: the first of equal gaps wins, like numpy's argmin
      best_gap = gap;
      best = i;
    }
  }
  return 100. * (1. - static_cast<double>(s.fp[best]) / nu);
}

OscrCurve oscr_curve(const std::vector<double>& known, const std::vector<bool>& known_correct,
                     const std::vector<double>& unknown) {
  check_scores(known, "known");
  check_scores(unknown, "unknown");
  if (known_correct.size() != known.size())
    throw InputError("OSCR: " + std::to_string(known_correct.size()) + " correctness flags for " +
                     std::to_string(known.size()) + " known scores");
  const std::size_t nk = known.size();
  const std::size_t n = nk + unknown.size();
  std::vector<double> score(known);
  score.insert(score.end(), unknown.begin(), unknown.end());
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });

  // Suffix sums over the sorted positions: correct known clips and unknown clips from i on.
  std::vector<std::int64_t> correct_from(n + 1, 0);
  std::vector<std::int64_t> unknown_from(n + 1, 0);
  for (std::size_t i = n; i-- > 0;) {
    const std::size_t c = order[i];
    correct_from[i] = correct_from[i + 1] + (c < nk && known_correct[c] ? 1 : 0);
    unknown_from[i] = unknown_from[i + 1] + (c >= nk ? 1 : 0);
  }
  std::vector<std::pair<double, double>> points;  // (fpr, ccr)
  points.reserve(n + 2);
  for (std::size_t k = 0; k + 1 < n; ++k)
    points.emplace_back(static_cast<double>(unknown_from[k]) / static_cast<double>(unknown.size()),
                        static_cast<double>(correct_from[k + 1]) / static_cast<double>(nk));
  points.emplace_back(0., 0.);  // the reference leaves position n-1 at zero
  points.emplace_back(0., 0.);
  points.emplace_back(1., 1.);
  std::sort(points.begin(), points.end(), std::greater<>());
  OscrCurve c;
  c.fpr.reserve(points.size());
  c.ccr.reserve(points.size());
  for (const auto& [f, r] : points) {
    c.fpr.push_back(f);
    c.ccr.push_back(r);
  }
  return c;
}

double oscr(const std::vector<double>& known, const std::vector<bool>& known_correct,
            const std::vector<double>& unknown) {
  const OscrCurve c = oscr_curve(known, known_correct, unknown);
  double area = 0.;
  for (std::size_t j = 0; j + 1 < c.fpr.size(); ++j)
    area += (c.fpr[j] - c.fpr[j + 1]) * ((c.ccr[j] + c.ccr[j + 1]) / 2.);
  return 100. * area;
}

double accuracy(const std::vector<int>& predicted, const std::vector<int>& labels) {
  if (labels.empty()) throw InputError("accuracy of no clips is undefined");
  if (predicted.size() != labels.size())
    throw InputError("accuracy: " + std::to_string(predicted.size()) + " predictions for " +
                     std::to_string(labels.size()) + " labels");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i] ? 1 : 0;
  return 100. * static_cast<double>(correct) / static_cast<double>(labels.size());
}

namespace {

// Per-class recall in percent; empty for classes without clips.
std::vector<std::optional<double>> class_recalls(const std::vector<int>& predicted,
                                                 const std::vector<int>& labels, int num_classes) {
  if (labels.empty()) throw InputError("recall of no clips is undefined");
  if (predicted.size() != labels.size())
    throw InputError("recall: " + std::to_string(predicted.size()) + " predictions for " +
                     std::to_string(labels.size()) + " labels");
  if (num_classes < 1) throw InputError("recall needs at least one class");
  std::vector<std::int64_t> total(num_classes, 0);
  std::vector<std::int64_t> hit(num_classes, 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes)
      throw InputError("label " + std::to_string(labels[i]) + " of clip " + std::to_string(i) +
                       " is outside 0.." + std::to_string(num_classes - 1));
    ++total[labels[i]];
    hit[labels[i]] += predicted[i] == labels[i] ? 1 : 0;
  }
  std::vector<std::optional<double>> recall(num_classes);
  for (int c = 0; c < num_classes; ++c)
    if (total[c] > 0)
      recall[c] = 100. * static_cast<double>(hit[c]) / static_cast<double>(total[c]);
  return recall;
}

}  // namespace

double uar(const std::vector<int>& predicted, const std::vector<int>& labels, int num_classes) {
  double sum = 0.;
  int present = 0;
  for (const auto& r : class_recalls(predicted, labels, num_classes)) {
    if (!r) continue;
    sum += *r;
    ++present;
  }
  return sum / present;  // present >= 1: labels is not empty and every label is a class
}

void check_clips(const std::vector<ClipPrediction>& clips, int num_classes) {
  if (num_classes < 1)
    throw InputError("evaluation needs at least one known class, got " +
                     std::to_string(num_classes));
  bool any_known = false;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const ClipPrediction& c = clips[i];
    if (c.logits.size() != static_cast<std::size_t>(num_classes))
      throw InputError(clip_name(clips, i) + " has " + std::to_string(c.logits.size()) +
                       " logits, expected " + std::to_string(num_classes) +
                       " (one per known class)");
    for (std::size_t j = 0; j < c.logits.size(); ++j)
      if (!std::isfinite(c.logits[j]))
        throw InputError(clip_name(clips, i) + ": logit " + std::to_string(j) +
                         " is not a finite number");
    if (c.label != kUnknownLabel && (c.label < 0 || c.label >= num_classes))
      throw InputError(clip_name(clips, i) + ": label " + std::to_string(c.label) +
                       " is outside 0.." + std::to_string(num_classes - 1) + " (or " +
                       std::to_string(kUnknownLabel) + " for an unknown clip)");
    if (std::isnan(c.open_set_score))
      throw InputError(clip_name(clips, i) + ": open-set score is NaN");
    any_known = any_known || c.label != kUnknownLabel;
  }
  if (!any_known)
    throw InputError(clips.empty() ? "no test clips"
                                   : "no known test clips, only " + std::to_string(clips.size()) +
                                         " unknown: there is nothing to classify");
}

OpenSetMetrics evaluate(const std::vector<ClipPrediction>& clips, int num_classes) {
  check_clips(clips, num_classes);
  std::vector<int> predicted;
  std::vector<int> labels;
  std::vector<double> known_scores;
  std::vector<bool> known_correct;
  std::vector<double> unknown_scores;
  for (const ClipPrediction& c : clips) {
    if (c.label == kUnknownLabel) {
      unknown_scores.push_back(c.open_set_score);
      continue;
    }
    const int p = predicted_class(c.logits);
    predicted.push_back(p);
    labels.push_back(c.label);
    known_scores.push_back(c.open_set_score);
    known_correct.push_back(p == c.label);
  }
  OpenSetMetrics m;
  m.num_known = labels.size();
  m.num_unknown = unknown_scores.size();
  m.acc = accuracy(predicted, labels);
  m.war = m.acc;
  m.uar = uar(predicted, labels, num_classes);
  m.class_recall = class_recalls(predicted, labels, num_classes);
  if (!unknown_scores.empty()) {
    m.auroc = auroc(known_scores, unknown_scores);
    m.oscr = oscr(known_scores, known_correct, unknown_scores);
    m.tnr_at_tpr95 = tnr_at_tpr95(known_scores, unknown_scores);
  }
  return m;
}

ConfusionMatrix confusion_matrix(const std::vector<ClipPrediction>& clips, int num_classes,
                                 std::optional<double> unknown_threshold) {
  check_clips(clips, num_classes);
  if (unknown_threshold && std::isnan(*unknown_threshold))
    throw InputError("the unknown threshold is NaN");
  ConfusionMatrix m;
  m.num_classes = num_classes;
  m.unknown_row = std::any_of(clips.begin(), clips.end(),
                              [](const ClipPrediction& c) { return c.label == kUnknownLabel; });
  m.unknown_column = unknown_threshold.has_value();
  m.counts.assign(num_classes + (m.unknown_row ? 1 : 0),
                  std::vector<std::int64_t>(num_classes + (m.unknown_column ? 1 : 0), 0));
  for (const ClipPrediction& c : clips) {
    const int row = c.label == kUnknownLabel ? num_classes : c.label;
    const bool rejected = unknown_threshold && c.open_set_score < *unknown_threshold;
    const int col = rejected ? num_classes : predicted_class(c.logits);
    ++m.counts[row][col];
  }
  return m;
}

}  // namespace hesp::eval

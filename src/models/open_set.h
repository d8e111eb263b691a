// SPDX-License-Identifier: LGPL-2.1-or-later
// Small statistics for calibrating open-set scores. Higher scores mean "known" throughout.
#pragma once

#include <string>
#include <vector>

#include "hesp/expression_model.h"

namespace hesp::models {

// A clip's result from its pooled logits, the same for every pack kind: softmax over the known
// classes, the open-set score by `rule`, "unknown" when the score is below `threshold`.
ExpressionResult result_from_logits(std::vector<double> logits,
                                    const std::vector<std::string>& class_names,
                                    const std::string& rule, double threshold);

// Area under the ROC curve of known (positive) vs unknown (negative) scores: the probability that
// a random known clip scores higher than a random unknown one, ties counting one half. NaN when
// either side is empty.
double auroc(const std::vector<double>& known, const std::vector<double>& unknown);

// The largest threshold t such that at least `tpr` of the known scores are >= t (scores below t
// are called unknown). Requires a non-empty vector and 0 < tpr <= 1.
double threshold_at_tpr(std::vector<double> known, double tpr);

// Fraction of the scores that are >= threshold (kept as known).
double fraction_kept(const std::vector<double>& scores, double threshold);

}  // namespace hesp::models

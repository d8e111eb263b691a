// SPDX-License-Identifier: LGPL-2.1-or-later
// The open-set calibration every converted pack goes through: jittered clips of hand-checked faces
// and of detector false positives and degraded faces from face-api.js's demo photos, the model's
// scores on them, and the threshold that keeps a target fraction of the known clips
// (docs/models.md, "Open-set score"). Torch-free: the model runs through ExpressionModel.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hesp/expression_model.h"
#include "hesp/face_alignment.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"

namespace hesp::models {

// Scores every calibration clip with `model` (crops at the model's input size and face margin, or
// placed by `alignment`) under every rule of open_set_score_rules(), and picks `chosen_rule`'s
// threshold at target_tpr ("auto": the rule with the highest AUROC over all unknown clips).
// `photos_dir` holds face-api.js's demo/sample1.jpg .. sample6.jpg. Throws FileNotFoundError
// naming a missing photo.
CalibrationReport calibrate_open_set(ExpressionModel& model, const std::string& photos_dir,
                                     const std::string& chosen_rule, double target_tpr,
                                     FaceAlignment alignment = FaceAlignment::kNone);

// The report as stored in a manifest's open_set.calibration.
nlohmann::json calibration_json(const CalibrationReport& report);

// Writes the pack with a provisional threshold, calibrates it as users will run it (crops placed
// by the manifest's input.alignment), and rewrites
// it with the chosen rule's threshold and the report in open_set (score, unknown_threshold,
// calibration). Returns the report; the provisional file is removed on success and failure.
CalibrationReport write_calibrated_pack(const std::string& path, nlohmann::json manifest,
                                        const std::vector<TensorInfo>& tensors,
                                        const std::string& photos_dir,
                                        const std::string& chosen_rule, double target_tpr);

// Throws SettingsError for a rule that is not an open-set score rule or a TPR outside (0, 1].
void check_calibration_settings(const std::string& rule, double target_tpr);

}  // namespace hesp::models

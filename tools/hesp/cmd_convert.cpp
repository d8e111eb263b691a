// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp convert SOURCE ...`: turns models published in other formats into hesp model packs. One
// sub-subcommand per source format (faceapi now; openai-clip later).
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "commands.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp_config.h"

namespace hesp::cli {

namespace {

// The cache folder: $HESP_CACHE_DIR when set (the tests and the setup script use it), else the
// one configured at build time.
std::string cache_dir() {
  const char* env = std::getenv("HESP_CACHE_DIR");
  return env && *env ? env : HESP_CACHE_DIR;
}

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
  cmd->add_option("--target-tpr", opt->target_tpr,
                  "Fraction of known calibration clips the threshold keeps")
      ->check(CLI::Range(0.5, 1.0))
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

}  // namespace

void add_convert_command(CLI::App& app) {
  CLI::App* convert =
      app.add_subcommand("convert", "Convert a published model into a hesp model pack");
  convert->require_subcommand(1);
  add_faceapi(*convert);
}

}  // namespace hesp::cli

// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp`: the command-line tool. One executable, one subcommand per job.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "commands.h"
#include "hesp/error.h"
#include "hesp_config.h"
#include "output_file.h"

// LibTorch's OpenMP runtime reads its wait policy once, when it is loaded (before main). Its
// default, spinning idle threads, makes inference several times slower on small machines where
// GStreamer's threads share the cores, so the tool restarts itself once with the passive policy
// unless the user chose one.
static void prefer_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
  prefer_passive_openmp(argv);
  CLI::App app{"hesp " HESP_VERSION ": open-set video facial expression recognition"};
  app.require_subcommand(1);
  app.set_version_flag("--version", HESP_VERSION);
  hesp::cli::add_run_command(app);
  hesp::cli::add_faces_command(app);
  hesp::cli::add_demo_video_command(app);
  hesp::cli::add_bench_command(app);
  hesp::cli::add_convert_command(app);
  hesp::cli::add_info_command(app);
  hesp::cli::add_tokenize_command(app);
  hesp::cli::add_embed_command(app);
  hesp::cli::add_synth_command(app);
  hesp::cli::add_eval_command(app);
  hesp::cli::add_train_command(app);
  try {
    app.parse(argc, argv);
    // What a subcommand printed is its result: losing it (a full disk, a closed pipe) is a failure.
    hesp::cli::finish_stdout();
  } catch (const CLI::ParseError& e) {
    // --help and --version print as usual; a usage error is one line, like every other failure.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "hesp: %s (see --help)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hesp: %s\n", hesp::describe(e).c_str());
    return 1;
  }
  return 0;
}

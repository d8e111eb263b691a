// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp`: the command-line tool. One executable, one subcommand per job.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

#include "commands.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "hesp_config.h"
#include "output_file.h"

// Two thread pools under LibTorch read their settings once, when they are loaded (before main),
// and both default to waiting actively, which on a small machine where GStreamer's threads share
// the cores makes the whole run several times slower:
//   - the OpenMP runtime spins its idle threads: OMP_WAIT_POLICY=PASSIVE;
//   - OpenBLAS (LibTorch's matrix products in the face detector's and expression net's
//     convolutions) keeps threads of its own that call sched_yield in a loop while they wait:
//     OPENBLAS_NUM_THREADS=1 leaves the parallel work to LibTorch's OpenMP threads. On the demo
//     video `hesp run` took 0.85x the wall time and `hesp faces` 0.74x the CPU time of two
//     OpenBLAS threads (docs/benchmarks.md).
// So the tool restarts itself once with both set, unless the user chose them.
static void prefer_quiet_thread_pools(char** argv) {
  bool changed = false;
  for (const auto& [name, value] :
       {std::pair<const char*, const char*>{"OMP_WAIT_POLICY", "PASSIVE"},
        {"OPENBLAS_NUM_THREADS", "1"}}) {
    if (std::getenv(name)) continue;
    setenv(name, value, 1);
    changed = true;
  }
  if (changed) execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
  prefer_quiet_thread_pools(argv);
  CLI::App app{"hesp " HESP_VERSION ": open-set video facial expression recognition"};
  app.require_subcommand(1);
  app.set_version_flag("--version", HESP_VERSION);
  hesp::cli::add_run_command(app);
  hesp::cli::add_read_metadata_command(app);
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
    // The default pack and the demo video are made by the setup step, never installed with hesp
    // (licences, size): when one of them is what was missing, the one error line says so.
    const std::string cache = hesp::cache_dir();
    const bool cache_file_missing = dynamic_cast<const hesp::FileNotFoundError*>(&e) &&
                                    std::string(e.what()).find(cache + "/") != std::string::npos;
    std::fprintf(stderr, "hesp: %s%s\n", hesp::describe(e).c_str(),
                 cache_file_missing ? " (scripts/setup.sh of the hesp sources makes the default "
                                      "pack and demo video; docs/install.md)"
                                    : "");
    return 1;
  }
  return 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp`: the command-line tool. One executable, one subcommand per job.
#include <cstdio>
#include <exception>

#include "commands.h"
#include "hesp/error.h"
#include "hesp_config.h"

int main(int argc, char** argv) {
  CLI::App app{"hesp " HESP_VERSION ": open-set video facial expression recognition"};
  app.require_subcommand(1);
  app.set_version_flag("--version", HESP_VERSION);
  hesp::cli::add_faces_command(app);
  hesp::cli::add_demo_video_command(app);
  hesp::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hesp: %s\n", hesp::describe(e).c_str());
    return 1;
  }
  return 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// Every `hesp` subcommand lives in its own cmd_*.cpp and registers itself on the app here.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace hesp::cli {

// Each add_* creates its subcommand and installs a callback that runs it. Callbacks throw
// hesp::Error (or any std::exception) on failure; main() turns that into a one-line message and
// exit status 1.
void add_faces_command(CLI::App& app);
void add_demo_video_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_embed_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_train_command(CLI::App& app);

// A subcommand and the options its command line fills in.
template <typename Options>
struct Command {
  CLI::App* cmd;
  std::shared_ptr<Options> opt;
};

// Adds the subcommand `name` to `parent` with options of type Options (its defaults as the type
// sets them); when the subcommand is chosen, `run` gets the parsed options (`void run(Options&)`
// or `void run(const Options&)`). The caller declares the options on `cmd` against `opt`.
template <typename Options, typename Run>
Command<Options> add_command(CLI::App& parent, const std::string& name,
                             const std::string& description, Run run) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand(name, description);
  cmd->callback([opt, run] { run(*opt); });
  return {cmd, opt};
}

}  // namespace hesp::cli

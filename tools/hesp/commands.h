// SPDX-License-Identifier: LGPL-2.1-or-later
// Every `hesp` subcommand lives in its own cmd_*.cpp and registers itself on the app here.
#pragma once

#include <CLI/CLI.hpp>

namespace hesp::cli {

// Each add_* creates its subcommand and installs a callback that runs it. Callbacks throw
// hesp::Error (or any std::exception) on failure; main() turns that into a one-line message and
// exit status 1.
void add_faces_command(CLI::App& app);
void add_demo_video_command(CLI::App& app);
void add_bench_command(CLI::App& app);
// `bench live`, a subcommand of `bench` (cmd_bench_live.cpp).
void add_bench_live_command(CLI::App& bench);
// `bench tracking`, a subcommand of `bench` (cmd_bench_tracking.cpp).
void add_bench_tracking_command(CLI::App& bench);
void add_run_command(CLI::App& app);
// `read-metadata`: the KLV metadata of an MPEG-TS file as JSON lines (cmd_read_metadata.cpp).
void add_read_metadata_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_embed_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_train_command(CLI::App& app);
// `train probe`, a subcommand of `train` (cmd_train_probe.cpp).
void add_train_probe_command(CLI::App& train);

}  // namespace hesp::cli

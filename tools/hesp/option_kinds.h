// SPDX-License-Identifier: LGPL-2.1-or-later
// The kinds of option the subcommands declare again and again, one call each: a value that must
// lie in a range (shown with or without its default in --help) and a file the command reads.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace hesp::cli {

// A value that must lie in [lo, hi]; the bounds' type (int or double) sets how --help writes them.
template <typename T, typename Bound>
CLI::Option* add_ranged(CLI::App* cmd, const std::string& name, T& value, const std::string& help,
                        Bound lo, Bound hi) {
  return cmd->add_option(name, value, help)->check(CLI::Range(lo, hi));
}

// The same, with the default value shown in --help.
template <typename T, typename Bound>
CLI::Option* add_ranged_default(CLI::App* cmd, const std::string& name, T& value,
                                const std::string& help, Bound lo, Bound hi) {
  return add_ranged(cmd, name, value, help, lo, hi)->capture_default_str();
}

// A file the command reads: it must exist when the command line is parsed.
template <typename T>
CLI::Option* add_input_file(CLI::App* cmd, const std::string& name, T& value,
                            const std::string& help) {
  return cmd->add_option(name, value, help)->check(CLI::ExistingFile);
}

}  // namespace hesp::cli

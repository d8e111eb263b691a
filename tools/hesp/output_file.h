// SPDX-License-Identifier: LGPL-2.1-or-later
// Where the subcommands write: files they are told to write and standard output. A write that
// fails is an error naming the file and the system's reason, never a silent truncation.
#pragma once

#include <cstdio>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace hesp::cli {

// A text file written line by line, or standard output for "" and "-". Opened (and truncated) by
// the constructor; each line is flushed as it is written, so a reader following the file sees it
// grow. Throws hesp::Error naming the file and the system's reason.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write_line(const std::string& line);
  // Flushes, and closes a file; throws when the data did not reach it.
  void close();

 private:
  std::string name_;  // for messages: 'path' or "to standard output"
  std::FILE* file_;
  bool owned_;
};

// Checks before a long run that `path` can be written (creating its file and removing it again
// when it did not exist), so a bad output path fails at once and is named as what it is. Throws
// hesp::Error "cannot write <what> '<path>': <reason>".
void check_writable(const std::string& path, const std::string& what);

// Writes `report` to the file `path` as JSON indented by two spaces, with a final newline,
// replacing the file. Throws hesp::Error "cannot write report '<path>'"; unlike OutputFile's, the
// message names no system reason: it is the one the report-writing commands have always given.
void write_json_report(const std::string& path, const nlohmann::json& report);

// Flushes std::cout and stdout; throws hesp::Error when anything written to standard output was
// lost (a full disk, a closed pipe, /dev/full).
void finish_stdout();

}  // namespace hesp::cli

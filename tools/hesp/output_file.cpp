// SPDX-License-Identifier: LGPL-2.1-or-later
#include "output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "hesp/error.h"

namespace hesp::cli {

namespace {

std::string reason(int error) { return error ? std::strerror(error) : "write error"; }

}  // namespace

OutputFile::OutputFile(const std::string& path)
    : name_(path.empty() || path == "-" ? "to standard output" : "'" + path + "'"),
      file_(path.empty() || path == "-" ? stdout : std::fopen(path.c_str(), "w")),
      owned_(file_ && file_ != stdout) {
  if (!file_) throw Error("cannot write " + name_ + ": " + reason(errno));
}

OutputFile::~OutputFile() {
  if (owned_ && file_) std::fclose(file_);
}

void OutputFile::write_line(const std::string& line) {
  errno = 0;
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
      std::fputc('\n', file_) == EOF || std::fflush(file_) != 0)
    throw Error("cannot write " + name_ + ": " + reason(errno));
}

void OutputFile::close() {
  errno = 0;
  bool ok = std::fflush(file_) == 0 && !std::ferror(file_);
  int error = errno;
  if (owned_) {
    ok = std::fclose(file_) == 0 && ok;
    if (!error) error = errno;
    file_ = nullptr;
  }
  if (!ok) throw Error("cannot write " + name_ + ": " + reason(error));
}

void check_writable(const std::string& path, const std::string& what) {
  const auto fail = [&](int error) {
    throw Error("cannot write " + what + " '" + path + "': " + std::strerror(error));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail(EISDIR);
    // Devices and pipes are left alone: opening one may block or be noticed by its reader.
    if (S_ISREG(st.st_mode) && ::access(path.c_str(), W_OK) != 0) fail(errno);
    return;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(errno);
  // The run makes the file again; a failed run then leaves none behind.
  ::close(fd);
  ::unlink(path.c_str());
}

void write_json_report(const std::string& path, const nlohmann::json& report) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw Error("cannot write report '" + path + "'");
  const std::string text = report.dump(2) + "\n";
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) throw Error("cannot write report '" + path + "'");
}

void finish_stdout() {
  // A write that failed earlier left its reason in errno; successful stdio calls since then do
  // not change it. Taken only when the stream says it failed.
  const int earlier = errno;
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  const int now = errno;
  if (std::cout && flushed && !std::ferror(stdout)) return;
  throw Error("cannot write to standard output: " + reason(now ? now : earlier));
}

}  // namespace hesp::cli

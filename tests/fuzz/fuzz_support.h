// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared bits of the libFuzzer harnesses: the readers under test take a path, so each input is
// written to an in-memory file first; and a failed property stops the run like a crash would.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace hesp::fuzz {

// One memfd per process, rewritten for every input; its /proc path is what the reader opens.
class InputFile {
 public:
  InputFile() : fd_(::memfd_create("hesp-fuzz-input", MFD_CLOEXEC)) {
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& write(const std::uint8_t* data, std::size_t size) {
    std::size_t done = 0;
    bool ok = ::ftruncate(fd_, 0) == 0;
    while (ok && done < size) {
      const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      ok = n > 0;
      done += ok ? static_cast<std::size_t>(n) : 0;
    }
    if (!ok) {
      std::perror("writing the fuzz input");
      std::abort();
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// A property the parser promises (not just "does not crash") that the input broke.
[[noreturn]] inline void property_failed(const char* what) {
  std::fprintf(stderr, "fuzz property failed: %s\n", what);
  std::abort();
}

}  // namespace hesp::fuzz

#define HESP_FUZZ_CHECK(cond)                          \
  do {                                                 \
    if (!(cond)) ::hesp::fuzz::property_failed(#cond); \
  } while (0)

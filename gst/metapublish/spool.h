// SPDX-License-Identifier: LGPL-2.1-or-later
// The on-disk overflow of the publisher's queue: messages that do not fit in memory are appended
// to a file in the spool folder and read back, oldest first, as the memory queue drains. One
// message per line (the frame JSON is one line; a message with a newline is refused). The file is
// the publisher's own scratch space (made unique, removed when the spool goes), so it extends how
// long an outage can last without drops; it is not a store that survives the process.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace hesp::publish {

class Spool {
 public:
  // Creates the spool file in `dir`; throws FatalError when it cannot.
  Spool(const std::string& dir, std::uint64_t max_bytes);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends one message; false when it would exceed max_bytes (or has a newline). Throws
  // FatalError when the file cannot be written.
  bool append(const std::string& message);

  // Takes the oldest message; false when the spool is empty.
  bool take(std::string* message);

  // Forgets every message (the publisher stopped).
  void clear();

  std::uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::uint64_t max_bytes_;
  std::uint64_t count_ = 0;
  long write_offset_ = 0;
  long read_offset_ = 0;
};

}  // namespace hesp::publish

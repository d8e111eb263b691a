// SPDX-License-Identifier: LGPL-2.1-or-later
#include "metapublish/spool.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "metapublish/transport.h"

namespace hesp::publish {

Spool::Spool(const std::string& dir, std::uint64_t max_bytes) : max_bytes_(max_bytes) {
  std::string name = dir + "/hesp-publish-spool-XXXXXX";
  std::vector<char> buf(name.begin(), name.end());
  buf.push_back('\0');
  const int fd = mkstemp(buf.data());
  if (fd < 0)
    throw FatalError("cannot create a spool file in '" + dir + "': " + std::strerror(errno));
  path_ = buf.data();
  file_ = fdopen(fd, "w+");
  if (!file_) {
    const int error = errno;
    ::close(fd);
    std::remove(path_.c_str());
    throw FatalError("cannot open the spool file '" + path_ + "': " + std::strerror(error));
  }
}

Spool::~Spool() {
  std::fclose(file_);
  std::remove(path_.c_str());
}

bool Spool::append(const std::string& message) {
  if (message.find('\n') != std::string::npos) return false;
  // What is still unread, plus this line, must fit: read space is reused once the spool empties.
  if (static_cast<std::uint64_t>(write_offset_ - read_offset_) + message.size() + 1 > max_bytes_)
    return false;
  errno = 0;
  if (std::fseek(file_, write_offset_, SEEK_SET) != 0 ||
      std::fwrite(message.data(), 1, message.size(), file_) != message.size() ||
      std::fputc('\n', file_) == EOF || std::fflush(file_) != 0)
    throw FatalError("cannot write the spool file '" + path_ + "': " + std::strerror(errno));
  write_offset_ += static_cast<long>(message.size() + 1);
  ++count_;
  return true;
}

bool Spool::take(std::string* message) {
  if (count_ == 0) return false;
  if (std::fseek(file_, read_offset_, SEEK_SET) != 0)
    throw FatalError("cannot read the spool file '" + path_ + "': " + std::strerror(errno));
  message->clear();
  for (int c; (c = std::fgetc(file_)) != EOF && c != '\n';)
    message->push_back(static_cast<char>(c));
  read_offset_ += static_cast<long>(message->size() + 1);
  // Empty again: start over at the beginning so the file does not grow without end.
  if (--count_ == 0) clear();
  return true;
}

void Spool::clear() {
  count_ = 0;
  read_offset_ = write_offset_ = 0;
  if (ftruncate(fileno(file_), 0) != 0)
    throw FatalError("cannot truncate the spool file '" + path_ + "': " + std::strerror(errno));
}

}  // namespace hesp::publish

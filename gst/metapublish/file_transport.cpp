// SPDX-License-Identifier: LGPL-2.1-or-later
#include "metapublish/file_transport.h"

#include <cerrno>
#include <cstring>

namespace hesp::publish {

FileTransport::FileTransport(const TransportOptions& options) : path_(options.address) {
  if (path_.empty()) throw ConfigError("method=file needs the file's path as 'address'");
}

FileTransport::~FileTransport() {
  if (file_) std::fclose(file_);
}

std::string FileTransport::describe() const { return "file '" + path_ + "'"; }

void FileTransport::connect() {
  if (file_) return;
  // Appended, not truncated: a publisher adds to a log that others may also be reading.
  file_ = std::fopen(path_.c_str(), "a");
  if (!file_)
    throw FatalError("cannot open '" + path_ + "' for appending: " + std::strerror(errno));
}

Transport::Sent FileTransport::send(const std::string& payload, const std::atomic<bool>&) {
  errno = 0;
  const bool written = std::fwrite(payload.data(), 1, payload.size(), file_) == payload.size() &&
                       std::fputc('\n', file_) != EOF && std::fflush(file_) == 0;
  if (!written) throw FatalError("cannot write to '" + path_ + "': " + std::strerror(errno));
  return Sent::kDelivered;
}

}  // namespace hesp::publish

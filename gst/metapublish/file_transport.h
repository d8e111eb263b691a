// SPDX-License-Identifier: LGPL-2.1-or-later
// method=file: JSON lines appended to a file, each flushed as it is written.
#pragma once

#include <cstdio>
#include <string>

#include "metapublish/transport.h"

namespace hesp::publish {

class FileTransport : public Transport {
 public:
  explicit FileTransport(const TransportOptions& options);
  ~FileTransport() override;

  std::string describe() const override;
  void connect() override;
  Sent send(const std::string& payload, const std::atomic<bool>& cancel) override;

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace hesp::publish

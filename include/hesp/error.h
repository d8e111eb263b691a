// SPDX-License-Identifier: LGPL-2.1-or-later
// Typed errors of the hesp core. The GStreamer glue maps each kind to a GST_ELEMENT_ERROR domain,
// the CLI to a one-line message and a non-zero exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace hesp {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file the caller named does not exist.
class FileNotFoundError : public Error {
 public:
  using Error::Error;
};

// A file exists but cannot be read or does not hold what it should (truncated, corrupt, wrong kind).
class CorruptFileError : public Error {
 public:
  using Error::Error;
};

// Settings that cannot work together, or a model that does not fit the request.
class SettingsError : public Error {
 public:
  using Error::Error;
};

// Input data (a frame, a clip) that the core cannot process.
class InputError : public Error {
 public:
  using Error::Error;
};

// Text of an exception and all exceptions nested in it, outermost first, joined by ": ".
std::string describe(const std::exception& e);

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
// The one place where C++ exceptions from the core become GStreamer errors. Every call from a
// GObject vfunc into the core goes through hesp_guard(), so no exception ever unwinds through C
// frames of GStreamer.
#pragma once

#include <gst/gst.h>

#include <exception>
#include <string>
#include <utility>

namespace hesp::gst {

// Posts GST_ELEMENT_ERROR for the exception currently being handled: missing file ->
// RESOURCE/NOT_FOUND, corrupt file -> RESOURCE/OPEN_READ, settings -> LIBRARY/SETTINGS, anything
// on a buffer -> STREAM/FAILED. `what_failed` says which step failed ("loading the face detector").
void post_current_exception(GstElement* element, const char* what_failed, const char* file,
                            const char* function, int line);

// Runs fn(); returns true when it succeeded, false after posting the error it raised.
template <typename Fn>
bool guard_call(GstElement* element, const char* what_failed, const char* file,
                const char* function, int line, Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
    return true;
  } catch (...) {
    post_current_exception(element, what_failed, file, function, line);
    return false;
  }
}

}  // namespace hesp::gst

#define HESP_GUARD(element, what_failed, ...)                                                  \
  ::hesp::gst::guard_call(GST_ELEMENT_CAST(element), what_failed, __FILE__, GST_FUNCTION, \
                          __LINE__, __VA_ARGS__)

// SPDX-License-Identifier: LGPL-2.1-or-later
// GStreamer set-up shared by the subcommands that build pipelines.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>

#include "hesp/error.h"

namespace hesp::cli {

// gst_init plus the hesp plugin from the build tree (when run from it) or the install folder.
void init_gstreamer();

// Whether this executable is the one in the build tree (not an installed copy): only then are
// the build and source trees' files used before the installed ones.
bool running_from_build_tree();

// A file path or URI as a URI; throws FileNotFoundError for a missing local file.
std::string to_uri(const std::string& path_or_uri);

struct GstObjectUnref {
  void operator()(gpointer object) const {
    if (object) gst_object_unref(object);
  }
};
using ElementPtr = std::unique_ptr<GstElement, GstObjectUnref>;

// A pipeline from a gst-launch description. Throws Error with GStreamer's message, followed by
// hint when one is given (e.g. which package holds a missing element).
ElementPtr parse_pipeline(const std::string& description, const std::string& hint = "");

// The element of the pipeline with this name; throws Error when there is none.
ElementPtr element_by_name(GstElement* pipeline, const char* name);

// An error message of a running pipeline, with where it came from.
class PipelineError : public Error {
 public:
  PipelineError(const std::string& message, std::string element_path);
  // The path of the element that posted it, e.g.
  // "/GstPipeline:pipeline0/GstURIDecodeBin:src/GstDecodeBin:decodebin0/GstQTDemux:qtdemux0".
  const std::string& element_path() const { return element_path_; }
  // Whether the element with this name, or an element inside it, posted the error.
  bool posted_by(const std::string& name) const;

 private:
  std::string element_path_;
};

// Progress on stderr: a rewritten line on a terminal, a line per 10 % otherwise (logs stay short).
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  void update(gint64 position_ns, gint64 duration_ns);
  void finish(const std::string& text);

 private:
  bool enabled_;
  bool tty_;
  int last_decile_ = -1;
  gint64 start_us_;
};

// Runs the pipeline to EOS and leaves it in NULL. Throws PipelineError with GStreamer's message
// on an error message, and Error when the pipeline cannot start or a source ends without giving
// any stream. on_progress (optional) is called about twice a second with the position and
// duration in ns (duration -1 when unknown).
void run_to_eos(GstElement* pipeline,
                const std::function<void(gint64, gint64)>& on_progress = nullptr);

}  // namespace hesp::cli

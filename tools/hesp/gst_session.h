// SPDX-License-Identifier: LGPL-2.1-or-later
// GStreamer set-up shared by the subcommands that build pipelines.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <string>

namespace hesp::cli {

// gst_init plus the hesp plugin from the build tree (when run from it) or the install folder.
void init_gstreamer();

// A file path or URI as a URI; throws FileNotFoundError for a missing local file.
std::string to_uri(const std::string& path_or_uri);

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

// Runs the pipeline to EOS. Throws hesp::Error with GStreamer's message on an error message.
// on_progress (optional) is called about twice a second with the position and duration in ns
// (duration -1 when unknown).
void run_to_eos(GstElement* pipeline,
                const std::function<void(gint64, gint64)>& on_progress = nullptr);

}  // namespace hesp::cli

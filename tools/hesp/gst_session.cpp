// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gst_session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "hesp/error.h"
#include "hesp_config.h"

namespace hesp::cli {

namespace {
bool exists(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0;
}
}  // namespace

void init_gstreamer() {
  gst_init(nullptr, nullptr);
  GstRegistry* registry = gst_registry_get();
  if (gst_registry_find_plugin(registry, "hesp")) return;
  // Prefer the plugin built next to this executable; fall back to the install folder.
  for (const char* dir : {HESP_BUILD_PLUGIN_DIR, HESP_INSTALL_PLUGIN_DIR}) {
    if (exists(dir) && gst_registry_scan_path(registry, dir) &&
        gst_registry_find_plugin(registry, "hesp"))
      return;
  }
  if (!gst_registry_find_plugin(registry, "hesp"))
    throw Error("the hesp GStreamer plugin was not found (looked in " HESP_BUILD_PLUGIN_DIR
                " and " HESP_INSTALL_PLUGIN_DIR "; set GST_PLUGIN_PATH)");
}

std::string to_uri(const std::string& path_or_uri) {
  if (gst_uri_is_valid(path_or_uri.c_str())) return path_or_uri;
  struct stat st {};
  if (::stat(path_or_uri.c_str(), &st) != 0) throw FileNotFoundError("'" + path_or_uri + "' not found");
  if (!S_ISREG(st.st_mode)) throw InputError("'" + path_or_uri + "' is not a file");
  GError* err = nullptr;
  gchar* uri = gst_filename_to_uri(path_or_uri.c_str(), &err);
  if (!uri) {
    std::string msg = err ? err->message : "invalid path";
    g_clear_error(&err);
    throw InputError("'" + path_or_uri + "': " + msg);
  }
  std::string out(uri);
  g_free(uri);
  return out;
}

ProgressLine::ProgressLine(bool enabled)
    : enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0), start_us_(g_get_monotonic_time()) {}

void ProgressLine::update(gint64 pos, gint64 dur) {
  if (!enabled_ || pos < 0) return;
  const double wall = (g_get_monotonic_time() - start_us_) / 1e6;
  const double speed = wall > 0 ? pos / 1e9 / wall : 0.0;
  if (tty_) {
    if (dur > 0)
      std::fprintf(stderr, "\r%5.1f%%  %.1f s of %.1f s  (%.2fx real time)   ", 100.0 * pos / dur,
                   pos / 1e9, dur / 1e9, speed);
    else
      std::fprintf(stderr, "\r%.1f s  (%.2fx real time)   ", pos / 1e9, speed);
    return;
  }
  if (dur <= 0) return;
  const int decile = static_cast<int>(10.0 * pos / dur);
  if (decile <= last_decile_) return;
  last_decile_ = decile;
  std::fprintf(stderr, "%3d%%  %.1f s of %.1f s  (%.2fx real time)\n", decile * 10, pos / 1e9,
               dur / 1e9, speed);
}

void ProgressLine::finish(const std::string& text) {
  if (!enabled_) return;
  const double wall = (g_get_monotonic_time() - start_us_) / 1e6;
  std::fprintf(stderr, "%sdone in %.1f s: %s\n", tty_ ? "\r" : "", wall, text.c_str());
}

void run_to_eos(GstElement* pipeline, const std::function<void(gint64, gint64)>& on_progress) {
  GstBus* bus = gst_element_get_bus(pipeline);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The error message on the bus says why; fall through to read it.
  }
  std::string error;
  for (;;) {
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus, 500 * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (!msg) {
      if (on_progress) {
        gint64 pos = -1, dur = -1;
        gst_element_query_position(pipeline, GST_FORMAT_TIME, &pos);
        gst_element_query_duration(pipeline, GST_FORMAT_TIME, &dur);
        on_progress(pos, dur);
      }
      continue;
    }
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(msg, &err, &debug);
      error = err ? err->message : "unknown error";
      g_clear_error(&err);
      g_free(debug);
    }
    gst_message_unref(msg);
    break;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  if (!error.empty()) throw Error(error);
}

}  // namespace hesp::cli

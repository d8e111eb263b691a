// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gst_session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "hesp/error.h"
#include "hesp_config.h"

namespace hesp::cli {

namespace {
bool exists(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0;
}

}  // namespace

// An installed copy must not load the plugin of a build folder that happens to still exist (the
// one the package was built in), hence the test on the executable and not on the folder.
bool running_from_build_tree() {
  gchar* exe = g_file_read_link("/proc/self/exe", nullptr);
  gchar* build_root = g_path_get_dirname(HESP_BUILD_PLUGIN_DIR);
  char* root = ::realpath(build_root, nullptr);  // the link's target has no symlinks either
  const bool inside = exe && root && g_str_has_prefix(exe, root) && exe[std::strlen(root)] == '/';
  g_free(exe);
  g_free(build_root);
  std::free(root);
  return inside;
}

void init_gstreamer() {
  gst_init(nullptr, nullptr);
  GstRegistry* registry = gst_registry_get();
  if (gst_registry_find_plugin(registry, "hesp")) return;
  // From the build tree, the plugin built beside this executable; installed, the install folder.
  std::string looked_in;
  for (const char* dir : {HESP_BUILD_PLUGIN_DIR, HESP_INSTALL_PLUGIN_DIR}) {
    if (dir == std::string_view(HESP_BUILD_PLUGIN_DIR) && !running_from_build_tree()) continue;
    looked_in += (looked_in.empty() ? "" : " and ") + std::string(dir);
    if (exists(dir) && gst_registry_scan_path(registry, dir) &&
        gst_registry_find_plugin(registry, "hesp"))
      return;
  }
  throw Error("the hesp GStreamer plugin was not found (looked in " + looked_in +
              "; set GST_PLUGIN_PATH)");
}

std::string to_uri(const std::string& path_or_uri) {
  if (gst_uri_is_valid(path_or_uri.c_str())) return path_or_uri;
  struct stat st {};
  if (::stat(path_or_uri.c_str(), &st) != 0)
    throw FileNotFoundError("'" + path_or_uri + "' not found");
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

ElementPtr parse_pipeline(const std::string& description, const std::string& hint) {
  GError* err = nullptr;
  ElementPtr pipeline(gst_parse_launch(description.c_str(), &err));
  // gst_parse_launch may return a pipeline together with an error (a link that failed): that
  // pipeline would not run as described, so it is an error too.
  if (pipeline && !err) return pipeline;
  std::string msg = err ? err->message : "cannot build the pipeline";
  g_clear_error(&err);
  if (!hint.empty()) msg += " (" + hint + ")";
  throw Error(msg);
}

ElementPtr element_by_name(GstElement* pipeline, const char* name) {
  ElementPtr element(gst_bin_get_by_name(GST_BIN(pipeline), name));
  if (!element) throw Error(std::string("the pipeline has no element named '") + name + "'");
  return element;
}

PipelineError::PipelineError(const std::string& message, std::string element_path)
    : Error(message), element_path_(std::move(element_path)) {}

bool PipelineError::posted_by(const std::string& name) const {
  // Components are "/Type:name" (element names hold no '/').
  const std::string& p = element_path_;
  for (std::size_t pos = p.find(name); pos != std::string::npos; pos = p.find(name, pos + 1)) {
    const bool starts = pos > 0 && (p[pos - 1] == '/' || p[pos - 1] == ':');
    const std::size_t end = pos + name.size();
    if (starts && (end == p.size() || p[end] == '/')) return true;
  }
  return false;
}

namespace {

// A pipeline that has not prerolled, and through which no buffer has passed for this long, waits
// for data that will not come.
constexpr int kStallTimeoutS = 30;

PipelineError error_of(GstMessage* msg) {
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  gchar* path = GST_MESSAGE_SRC(msg) ? gst_object_get_path_string(GST_MESSAGE_SRC(msg)) : nullptr;
  PipelineError error(err ? err->message : "unknown error", path ? path : "");
  g_free(path);
  g_clear_error(&err);
  g_free(debug);
  return error;
}

// Watches the buffers arriving at the sink pads of the pipeline's top-level elements: the time of
// the last one tells a pipeline that works slowly from one that waits for data that will never
// come (a demuxer that gave up on a truncated file without a word).
class FlowWatch {
 public:
  explicit FlowWatch(GstElement* pipeline) : last_us_(g_get_monotonic_time()) {
    GstIterator* elements = gst_bin_iterate_elements(GST_BIN(pipeline));
    GValue element = G_VALUE_INIT;
    while (gst_iterator_next(elements, &element) == GST_ITERATOR_OK) {
      GstIterator* pads = gst_element_iterate_sink_pads(GST_ELEMENT(g_value_get_object(&element)));
      GValue pad = G_VALUE_INIT;
      while (gst_iterator_next(pads, &pad) == GST_ITERATOR_OK) {
        auto* p = GST_PAD(g_value_get_object(&pad));
        const gulong id = gst_pad_add_probe(
            p,
            static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                         GST_PAD_PROBE_TYPE_BUFFER_LIST),
            [](GstPad*, GstPadProbeInfo*, gpointer self) {
              static_cast<FlowWatch*>(self)->last_us_ = g_get_monotonic_time();
              return GST_PAD_PROBE_OK;
            },
            this, nullptr);
        probes_.emplace_back(GST_PAD(gst_object_ref(p)), id);
        g_value_reset(&pad);
      }
      g_value_unset(&pad);
      gst_iterator_free(pads);
      g_value_reset(&element);
    }
    g_value_unset(&element);
    gst_iterator_free(elements);
  }
  ~FlowWatch() {
    for (auto& [pad, id] : probes_) {
      gst_pad_remove_probe(pad, id);
      gst_object_unref(pad);
    }
  }
  FlowWatch(const FlowWatch&) = delete;
  FlowWatch& operator=(const FlowWatch&) = delete;

  // Seconds since the last buffer (or since the watch began).
  double idle_s() const { return (g_get_monotonic_time() - last_us_) / 1e6; }

 private:
  std::atomic<gint64> last_us_;
  std::vector<std::pair<GstPad*, gulong>> probes_;
};

// Sets the pipeline to NULL. Stopping joins every streaming thread, and an element stuck in one
// would keep the tool from ever ending: after a generous wait it ends the process, with one line
// saying why, as main() would have.
void stop_pipeline(GstElement* pipeline, const std::string& pending_error) {
  std::mutex lock;
  std::condition_variable stopped;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> l(lock);
    if (stopped.wait_for(l, std::chrono::seconds(20), [&] { return done; })) return;
    std::fprintf(stderr, "hesp: %s%sthe pipeline did not stop\n", pending_error.c_str(),
                 pending_error.empty() ? "" : " (and ");
    std::fflush(stderr);
    std::_Exit(1);
  });
  gst_element_set_state(pipeline, GST_STATE_NULL);
  {
    std::lock_guard<std::mutex> l(lock);
    done = true;
  }
  stopped.notify_one();
  watchdog.join();
}

}  // namespace

void run_to_eos(GstElement* pipeline, const std::function<void(gint64, gint64)>& on_progress) {
  std::unique_ptr<GstBus, GstObjectUnref> bus(gst_element_get_bus(pipeline));
  std::unique_ptr<PipelineError> error;
  std::string stall;
  const FlowWatch flow(pipeline);
  const GstStateChangeReturn ret = gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const bool started = ret != GST_STATE_CHANGE_FAILURE;
  // Prerolled: the first buffer reached the sinks (or a live source needs none). Until then the
  // pipeline is not asked for its position: a query racing the demuxer's failure must not be
  // what the tool waits on, and a pipeline that never prerolls is a failure, not a wait.
  bool prerolled = ret == GST_STATE_CHANGE_SUCCESS || ret == GST_STATE_CHANGE_NO_PREROLL;
  const auto types =
      static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ASYNC_DONE);
  for (;;) {
    // A failed start leaves its reason on the bus: collect it without waiting.
    GstMessage* msg = gst_bus_timed_pop_filtered(bus.get(), started ? 500 * GST_MSECOND : 0, types);
    if (!msg) {
      if (!started) break;
      if (!prerolled) {
        GstState state = GST_STATE_NULL;
        prerolled =
            gst_element_get_state(pipeline, &state, nullptr, 0) == GST_STATE_CHANGE_SUCCESS &&
            state >= GST_STATE_PAUSED;
      }
      if (!prerolled) {
        if (flow.idle_s() > kStallTimeoutS) {
          stall = "no video came out of it for " + std::to_string(kStallTimeoutS) +
                  " s (not a video, or a truncated file?)";
          break;
        }
        continue;
      }
      if (on_progress) {
        gint64 pos = -1, dur = -1;
        gst_element_query_position(pipeline, GST_FORMAT_TIME, &pos);
        gst_element_query_duration(pipeline, GST_FORMAT_TIME, &dur);
        on_progress(pos, dur);
      }
      continue;
    }
    const GstMessageType type = GST_MESSAGE_TYPE(msg);
    if (type == GST_MESSAGE_ASYNC_DONE) {
      if (GST_MESSAGE_SRC(msg) == GST_OBJECT(pipeline)) prerolled = true;
      gst_message_unref(msg);
      continue;
    }
    if (type == GST_MESSAGE_ERROR) error = std::make_unique<PipelineError>(error_of(msg));
    gst_message_unref(msg);
    break;
  }
  stop_pipeline(pipeline, error ? error->what() : stall);
  if (error) throw *error;
  if (!stall.empty()) throw Error(stall);
  if (!started) throw Error("the pipeline could not start");
}

}  // namespace hesp::cli

// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp bench tracking`: how well the face stage tracks, against exact ground truth. The demo
// video films still photos with a known camera, so faces boxed once per photo
// (tests/data/demo_faces.json) project into every frame; the bench runs hespfacecrop on the video
// for each setting asked for and scores its tracks (include/hesp/tracking_metrics.h). With
// --occlude the bench also hides one face per shot for a while, as someone passing in front of it
// would, to score how trackers (and hespfacecrop's reid) bring the face back under its old id.
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "common/face_roi.h"
#include "demo_video.h"
#include "face_stage.h"
#include "gst_session.h"
#include "hesp/error.h"
#include "hesp/tracking_metrics.h"
#include "option_kinds.h"
#include "output_file.h"

namespace hesp::cli {

namespace {

struct TrackingBenchOptions {
  DemoVideoOptions demo;
  std::string video;  // empty = film the demo video into a temporary file
  std::string truth;  // empty = the ground truth that comes with hesp
  FaceStageOptions face;
  std::vector<std::string> detectors{"faceapi", "haar"};
  std::vector<unsigned> intervals{1, 3};
  std::vector<std::string> sets;  // key=value[,value...]
  std::string yunet_model;
  TrackingMetricsOptions metrics;
  double min_visible = 0.5;
  int occlude_frames = 0;  // 0 = nothing hidden
  std::string json;
  bool quiet = false;
};

// One hespfacecrop property and the values to try.
struct PropertyAxis {
  std::string name;
  std::vector<std::string> values;
};

struct Setting {
  std::string detector;
  unsigned interval = 1;
  std::vector<std::pair<std::string, std::string>> properties;  // from --set

  std::string label() const {
    std::string s = detector + " interval=" + std::to_string(interval);
    for (const auto& [k, v] : properties) s += " " + k + "=" + v;
    return s;
  }
};

std::string truth_file(const std::string& given) {
  if (!given.empty()) return given;
  for (const char* path : {HESP_DEMO_FACES_BUILD, HESP_DEMO_FACES_INSTALL}) {
    if (path == std::string(HESP_DEMO_FACES_BUILD) && !running_from_build_tree()) continue;
    if (g_file_test(path, G_FILE_TEST_EXISTS)) return path;
  }
  throw FileNotFoundError("the demo video's ground truth was not found (looked for " +
                          std::string(HESP_DEMO_FACES_BUILD) + " and " + HESP_DEMO_FACES_INSTALL +
                          "); give it with --truth");
}

// The faces of each photo, in photo pixels, checked against the photos the video films.
std::vector<std::vector<TruthFace>> read_truth(
    const std::string& path, const std::vector<std::unique_ptr<PanZoomSequence>>& shots) {
  std::ifstream in(path);
  if (!in) throw FileNotFoundError("ground truth '" + path + "' cannot be read");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
    std::vector<std::vector<TruthFace>> photos;
    const auto& list = doc.at("photos");
    for (size_t s = 0; s < shots.size(); ++s) {
      if (s >= list.size()) throw CorruptFileError("it has no photo " + demo_photo_name(s));
      const auto& photo = list[s];
      const std::string file = photo.at("file").get<std::string>();
      if (file != demo_photo_name(static_cast<int>(s)) ||
          photo.at("width").get<int>() != shots[s]->photo_width() ||
          photo.at("height").get<int>() != shots[s]->photo_height())
        throw CorruptFileError("its photo " + std::to_string(s + 1) + " is " + file + " " +
                               photo.at("width").dump() + "x" + photo.at("height").dump() +
                               ", the video films " + demo_photo_name(static_cast<int>(s)) + " " +
                               std::to_string(shots[s]->photo_width()) + "x" +
                               std::to_string(shots[s]->photo_height()));
      std::vector<TruthFace> faces;
      for (const auto& f : photo.at("faces")) {
        const auto& b = f.at("box");
        // Unique over the video: the same person in two shots is two faces.
        faces.push_back({static_cast<int>(s + 1) * 1000 + f.at("id").get<int>(),
                         Box{b.at(0).get<float>(), b.at(1).get<float>(), b.at(2).get<float>(),
                             b.at(3).get<float>()}});
      }
      photos.push_back(std::move(faces));
    }
    return photos;
  } catch (const nlohmann::json::exception& e) {
    throw CorruptFileError("ground truth '" + path + "': " + e.what());
  } catch (const CorruptFileError& e) {
    throw CorruptFileError("ground truth '" + path + "': " + e.what());
  }
}

// Every frame of the video with its faces in frame pixels. A face mostly outside the frame or
// smaller than the face stage searches for need not be found.
std::vector<TrackingFrame> project_truth(const std::vector<std::unique_ptr<PanZoomSequence>>& shots,
                                         const std::vector<std::vector<TruthFace>>& photos,
                                         const TrackingBenchOptions& opt) {
  std::vector<TrackingFrame> frames;
  for (size_t s = 0; s < shots.size(); ++s) {
    const PanZoomSequence& seq = *shots[s];
    for (int f = 0; f < seq.n_frames(); ++f) {
      TrackingFrame frame;
      frame.shot = static_cast<int>(s);
      for (const TruthFace& face : photos[s]) {
        const Box full = seq.to_frame(f, face.box);
        const Box inside = clip_to_frame(full, seq.width(), seq.height());
        if (inside.area() <= 0.f) continue;
        const bool required = inside.area() >= opt.min_visible * full.area() &&
                              std::min(full.width, full.height) >= opt.face.min_face_size;
        frame.truth.push_back({face.id, inside, required});
      }
      frames.push_back(std::move(frame));
    }
  }
  return frames;
}

// --occlude: the frames on which a face is hidden, and where (frame pixels, RGB).
struct Occlusion {
  std::vector<Box> cover;  // per frame; empty box = nothing hidden
  int faces = 0;           // faces hidden, one per shot at most
};

// In every shot, the largest face required at the shot's middle frame is covered for `frames`
// frames around that middle by a grey box a fifth larger than it on every side; meanwhile it need
// not be found (it is no longer required), and when it shows again the metrics count whether its
// id came back.
Occlusion occlude(std::vector<TrackingFrame>& frames, int n_frames) {
  Occlusion o;
  o.cover.resize(frames.size());
  if (n_frames <= 0) return o;
  size_t start = 0;
  while (start < frames.size()) {
    size_t end = start;
    while (end < frames.size() && frames[end].shot == frames[start].shot) ++end;
    if (static_cast<size_t>(n_frames) + 2 > end - start)
      throw SettingsError("--occlude " + std::to_string(n_frames) +
                          " leaves no frame before or after the hidden ones in a shot of " +
                          std::to_string(end - start) + " frames");
    const size_t mid = start + (end - start) / 2;
    const TruthFace* largest = nullptr;
    for (const TruthFace& f : frames[mid].truth)
      if (f.required && (!largest || f.box.area() > largest->box.area())) largest = &f;
    if (largest) {
      const int id = largest->id;
      ++o.faces;
      for (size_t i = mid - n_frames / 2; i < mid - n_frames / 2 + n_frames; ++i) {
        for (TruthFace& f : frames[i].truth) {
          if (f.id != id) continue;
          f.required = false;
          const float dx = f.box.width / 5, dy = f.box.height / 5;
          o.cover[i] = Box{f.box.x - dx, f.box.y - dy, f.box.width + 2 * dx, f.box.height + 2 * dy};
        }
      }
    }
    start = end;
  }
  return o;
}

std::vector<PropertyAxis> parse_sets(const std::vector<std::string>& sets) {
  std::vector<PropertyAxis> axes;
  for (const std::string& s : sets) {
    const size_t eq = s.find('=');
    if (eq == 0 || eq == std::string::npos || eq + 1 == s.size())
      throw SettingsError("--set '" + s + "': expected PROPERTY=VALUE[,VALUE...]");
    PropertyAxis axis{s.substr(0, eq), {}};
    size_t start = eq + 1;
    while (start <= s.size()) {
      const size_t comma = std::min(s.find(',', start), s.size());
      if (comma > start) axis.values.push_back(s.substr(start, comma - start));
      start = comma + 1;
    }
    axes.push_back(std::move(axis));
  }
  return axes;
}

// Sets a property of the element from its text form, as gst-launch-1.0 does, but failing loudly:
// an unknown property, a value that does not parse or one out of range is an error.
void set_property_text(GstElement* element, const std::string& name, const std::string& value) {
  const char* element_name = GST_OBJECT_NAME(gst_element_get_factory(element));
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(element), name.c_str());
  if (!spec || !(spec->flags & G_PARAM_WRITABLE))
    throw SettingsError(std::string(element_name) + " has no writable property '" + name +
                        "' (gst-inspect-1.0 " + element_name + " lists them)");
  GValue v = G_VALUE_INIT;
  g_value_init(&v, spec->value_type);
  const bool parsed = spec->value_type == G_TYPE_STRING
                          ? (g_value_set_string(&v, value.c_str()), true)
                          : gst_value_deserialize(&v, value.c_str());
  // g_param_value_validate changes a value out of range and says so.
  const bool valid = parsed && !g_param_value_validate(spec, &v);
  if (valid) g_object_set_property(G_OBJECT(element), name.c_str(), &v);
  g_value_unset(&v);
  if (!valid)
    throw SettingsError("'" + value + "' is no valid value of " + element_name + "'s property '" +
                        name + "' (" + g_type_name(spec->value_type) + ")");
}

std::vector<Setting> settings_of(const TrackingBenchOptions& opt,
                                 const std::vector<PropertyAxis>& axes) {
  std::vector<Setting> settings;
  for (const std::string& detector : opt.detectors)
    for (unsigned interval : opt.intervals) settings.push_back({detector, interval, {}});
  for (const PropertyAxis& axis : axes) {
    std::vector<Setting> grown;
    for (const Setting& s : settings)
      for (const std::string& value : axis.values) {
        Setting t = s;
        t.properties.emplace_back(axis.name, value);
        grown.push_back(std::move(t));
      }
    settings = std::move(grown);
  }
  return settings;
}

void configure(GstElement* facecrop, const TrackingBenchOptions& opt, const Setting& setting) {
  FaceStageOptions face = opt.face;
  face.detector = setting.detector;
  face.detection_interval = setting.interval;
  configure_face_stage(facecrop, face);
  if (setting.detector == "yunet" && !opt.yunet_model.empty())
    g_object_set(facecrop, "detector-model", opt.yunet_model.c_str(), nullptr);
  for (const auto& [name, value] : setting.properties) set_property_text(facecrop, name, value);
}

struct Collected {
  std::vector<std::vector<TrackBox>> boxes;  // per frame index
  int width = 0, height = 0, fps_n = 0, fps_d = 1;
  guint64 samples = 0;
  int out_of_range = 0;  // samples whose time lies past the ground truth's frames
};

// The frame index of a buffer, from its timestamp.
double frame_index(GstBuffer* buffer, int fps_n, int fps_d, guint64 fallback) {
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  return fps_n > 0 && GST_CLOCK_TIME_IS_VALID(pts)
             ? std::round(double(pts) * fps_n / (double(GST_SECOND) * fps_d))
             : double(fallback);
}

// Paints the --occlude boxes grey into the RGB frames before hespfacecrop sees them.
GstPadProbeReturn cover_faces(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  const auto* o = static_cast<const Occlusion*>(data);
  GstBuffer* buffer = gst_pad_probe_info_get_buffer(info);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  GstVideoInfo vi;
  const bool have_info = caps && gst_video_info_from_caps(&vi, caps);
  if (caps) gst_caps_unref(caps);
  if (!buffer || !have_info || GST_VIDEO_INFO_FORMAT(&vi) != GST_VIDEO_FORMAT_RGB)
    return GST_PAD_PROBE_OK;
  const double index = frame_index(buffer, GST_VIDEO_INFO_FPS_N(&vi), GST_VIDEO_INFO_FPS_D(&vi),
                                   static_cast<guint64>(-1));
  if (index < 0 || index >= o->cover.size()) return GST_PAD_PROBE_OK;
  const Box box = clip_to_frame(o->cover[static_cast<size_t>(index)], GST_VIDEO_INFO_WIDTH(&vi),
                                GST_VIDEO_INFO_HEIGHT(&vi));
  if (box.width < 1.f || box.height < 1.f) return GST_PAD_PROBE_OK;
  buffer = gst_buffer_make_writable(buffer);
  GST_PAD_PROBE_INFO_DATA(info) = buffer;
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &vi, buffer, GST_MAP_READWRITE)) return GST_PAD_PROBE_OK;
  auto* pixels = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  const int x0 = static_cast<int>(box.x), y0 = static_cast<int>(box.y);
  const int x1 = static_cast<int>(box.x + box.width), y1 = static_cast<int>(box.y + box.height);
  for (int y = y0; y < y1; ++y) std::fill_n(pixels + y * stride + 3 * x0, 3 * (x1 - x0), 128);
  gst_video_frame_unmap(&frame);
  return GST_PAD_PROBE_OK;
}

// Runs the face stage on the video; the boxes of each frame, found by its timestamp.
Collected run_face_stage(const std::string& uri, const TrackingBenchOptions& opt,
                         const Setting& setting, size_t n_frames, const Occlusion& occlusion) {
  // Covering faces is simplest in RGB; without it the face stage gets the decoder's format.
  const bool covering = occlusion.faces > 0;
  ElementPtr pipeline = parse_pipeline(
      std::string("uridecodebin name=src ! videoconvert ! ") +
      (covering ? "video/x-raw,format=RGB" : "video/x-raw,format={I420,NV12,RGB,BGR,BGRx,RGBx}") +
      " ! hespfacecrop name=faces ! appsink name=sink sync=false");
  g_object_set(element_by_name(pipeline.get(), "src").get(), "uri", uri.c_str(), nullptr);
  ElementPtr faces = element_by_name(pipeline.get(), "faces");
  configure(faces.get(), opt, setting);
  if (covering) {
    GstPad* sink = gst_element_get_static_pad(faces.get(), "sink");
    gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, cover_faces,
                      const_cast<Occlusion*>(&occlusion), nullptr);
    gst_object_unref(sink);
  }
  Collected c;
  c.boxes.resize(n_frames);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = [](GstAppSink* appsink, gpointer data) -> GstFlowReturn {
    auto* c = static_cast<Collected*>(data);
    GstSample* sample = gst_app_sink_pull_sample(appsink);
    if (!sample) return GST_FLOW_EOS;
    if (c->samples++ == 0) {
      const GstStructure* s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
      gst_structure_get_int(s, "width", &c->width);
      gst_structure_get_int(s, "height", &c->height);
      gst_structure_get_fraction(s, "framerate", &c->fps_n, &c->fps_d);
    }
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    const double index = frame_index(buffer, c->fps_n, c->fps_d, c->samples - 1);
    if (index >= 0 && index < c->boxes.size()) {
      auto& out = c->boxes[static_cast<size_t>(index)];
      for (const hesp::gst::FaceRoi& roi : hesp::gst::face_rois(buffer))
        out.push_back({roi.track_id, roi.box});
    } else {
      ++c->out_of_range;
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  };
  gst_app_sink_set_callbacks(GST_APP_SINK(element_by_name(pipeline.get(), "sink").get()),
                             &callbacks, &c, nullptr);
  run_to_eos(pipeline.get());
  return c;
}

nlohmann::json metrics_json(const TrackingMetrics& m) {
  nlohmann::json by_face = nlohmann::json::array();
  for (const FaceCentreError& f : m.centre_error_by_face)
    by_face.push_back({{"id", f.id},
                       {"count", f.count},
                       {"mean", f.mean},
                       {"offset_x", f.offset_x},
                       {"offset_y", f.offset_y}});
  return {{"frames", m.frames},
          {"shots", m.shots},
          {"truth_boxes", m.truth_boxes},
          {"track_boxes", m.track_boxes},
          {"truth_ids", m.truth_ids},
          {"track_ids", m.track_ids},
          {"matches", m.matches},
          {"false_positives", m.false_positives},
          {"misses", m.misses},
          {"id_switches", m.id_switches},
          {"mota", m.mota},
          {"motp_iou", m.motp_iou},
          {"precision", m.precision},
          {"recall", m.recall},
          {"idtp", m.idtp},
          {"idfp", m.idfp},
          {"idfn", m.idfn},
          {"idf1", m.idf1},
          {"cuts", m.cuts},
          {"stale_boxes", m.stale_boxes},
          {"stale_tracks", m.stale_tracks},
          {"ghosts_after_cut", m.ghosts_after_cut},
          {"centre_error_count", m.centre_error_count},
          {"centre_error_mean", m.centre_error_mean},
          {"centre_error_p95", m.centre_error_p95},
          {"follow_error_mean", m.follow_error_mean},
          {"follow_error_p95", m.follow_error_p95},
          {"centre_error_by_face", by_face}};
}

// A temporary folder removed with what it holds when the bench ends, however it ends.
struct TempDir {
  std::string path;
  std::vector<std::string> files;
  TempDir() {
    GError* err = nullptr;
    gchar* dir = g_dir_make_tmp("hesp-bench-tracking-XXXXXX", &err);
    if (!dir) {
      const std::string message = err ? err->message : "unknown error";
      g_clear_error(&err);
      throw Error("cannot make a temporary folder: " + message);
    }
    path = dir;
    g_free(dir);
  }
  std::string file(const std::string& name) {
    files.push_back(path + "/" + name);
    return files.back();
  }
  ~TempDir() {
    for (const auto& f : files) g_remove(f.c_str());
    g_rmdir(path.c_str());
  }
};

void run_bench_tracking(TrackingBenchOptions opt) {
  init_gstreamer();
  const std::vector<PropertyAxis> axes = parse_sets(opt.sets);
  const std::vector<Setting> settings = settings_of(opt, axes);
  {  // Wrong property names and values fail now, not after the video is made.
    ElementPtr probe{gst_element_factory_make("hespfacecrop", nullptr)};
    if (!probe) throw Error("the hespfacecrop element is not available");
    gst_object_ref_sink(probe.get());
    for (const PropertyAxis& axis : axes)
      for (const std::string& value : axis.values) set_property_text(probe.get(), axis.name, value);
  }

  const auto shots = demo_shots(opt.demo);
  const std::string truth_path = truth_file(opt.truth);
  std::vector<TrackingFrame> truth = project_truth(shots, read_truth(truth_path, shots), opt);
  const Occlusion occlusion = occlude(truth, opt.occlude_frames);
  std::vector<int> cut_frames;
  for (size_t i = 1; i < truth.size(); ++i)
    if (truth[i].shot != truth[i - 1].shot) cut_frames.push_back(static_cast<int>(i));

  TempDir tmp;
  std::string video = opt.video;
  if (video.empty()) {
    DemoVideoOptions demo = opt.demo;
    demo.output = tmp.file("demo.mp4");
    if (!opt.quiet) std::fprintf(stderr, "filming %zu shots...\n", shots.size());
    video = make_demo_video(demo);
  }
  const std::string uri = to_uri(video);

  std::printf("%-36s %7s %6s %6s %5s %6s %7s %11s %17s %13s %13s %7s\n", "setting", "MOTA", "FP",
              "FN", "IDsw", "IDF1", "recall", "stale b/id", "ghosts k=0..4", "ctr err m/p95",
              "follow m/p95", "fps");
  nlohmann::json results = nlohmann::json::array();
  for (const Setting& setting : settings) {
    nlohmann::json entry{{"setting", setting.label()},
                         {"detector", setting.detector},
                         {"detection_interval", setting.interval},
                         {"properties", nlohmann::json::object()}};
    for (const auto& [k, v] : setting.properties) entry["properties"][k] = v;
    if (!opt.quiet) std::fprintf(stderr, "running %s...\n", setting.label().c_str());
    Collected c;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      c = run_face_stage(uri, opt, setting, truth.size(), occlusion);
    } catch (const Error& e) {
      // YuNet needs a model file the project does not ship: a note, not a failure.
      if (setting.detector != "yunet") throw;
      const std::string note =
          std::string("skipped: ") + describe(e) +
          (opt.yunet_model.empty() ? " (give the ONNX model with --yunet-model)" : "");
      entry["skipped"] = note;
      results.push_back(entry);
      std::printf("%-36s %s\n", setting.label().c_str(), note.c_str());
      std::fflush(stdout);
      continue;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (c.width != shots[0]->width() || c.height != shots[0]->height() ||
        c.samples != truth.size() || c.out_of_range > 0)
      throw InputError("'" + video + "' has " + std::to_string(c.samples) + " frames of " +
                       std::to_string(c.width) + "x" + std::to_string(c.height) +
                       ", the ground truth " + std::to_string(truth.size()) + " of " +
                       std::to_string(shots[0]->width()) + "x" +
                       std::to_string(shots[0]->height()) +
                       ": give --video a video made by `hesp demo-video` with the same --width, "
                       "--height, --fps, --seconds-per-photo and --shots");
    std::vector<TrackingFrame> frames = truth;
    for (size_t i = 0; i < frames.size(); ++i) frames[i].tracks = std::move(c.boxes[i]);
    const TrackingMetrics m = evaluate_tracking(frames, opt.metrics);
    entry["metrics"] = metrics_json(m);
    entry["seconds"] = seconds;
    entry["fps"] = frames.size() / seconds;
    results.push_back(entry);
    std::string ghosts;
    for (int g : m.ghosts_after_cut) ghosts += (ghosts.empty() ? "" : ",") + std::to_string(g);
    std::printf(
        "%-36s %7.3f %6d %6d %5d %6.3f %7.3f %5d/%-5d %17s %6.3f/%-6.3f %6.3f/%-6.3f %7.1f\n",
        setting.label().c_str(), m.mota, m.false_positives, m.misses, m.id_switches, m.idf1,
        m.recall, m.stale_boxes, m.stale_tracks, ghosts.c_str(), m.centre_error_mean,
        m.centre_error_p95, m.follow_error_mean, m.follow_error_p95, frames.size() / seconds);
    std::fflush(stdout);
  }

  if (!opt.json.empty()) {
    const auto rounded = [](float x) { return std::round(x * 1e6) / 1e6; };
    // A filmed video is gone by now: null says so.
    nlohmann::json doc{{"video", opt.video.empty() ? nlohmann::json() : nlohmann::json(video)},
                       {"truth", truth_path},
                       {"frames", truth.size()},
                       {"shots", shots.size()},
                       {"width", shots[0]->width()},
                       {"height", shots[0]->height()},
                       {"fps", opt.demo.fps},
                       {"cut_frames", cut_frames},
                       {"iou_threshold", rounded(opt.metrics.iou_threshold)},
                       {"min_visible", opt.min_visible},
                       {"min_face_size", opt.face.min_face_size},
                       {"stale_after_frames", opt.metrics.stale_after_frames},
                       {"ghost_iou", rounded(opt.metrics.ghost_iou)},
                       {"occlude_frames", opt.occlude_frames},
                       {"occluded_faces", occlusion.faces},
                       {"settings", results}};
    OutputFile out(opt.json);
    out.write_line(doc.dump(1));
    out.close();
  }
}

}  // namespace

void add_bench_tracking_command(CLI::App& bench) {
  auto opt = std::make_shared<TrackingBenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "tracking",
      "Tracking accuracy of the face stage on the demo video against its exact ground truth "
      "(MOTA, IDF1, identity switches, tracks left over after cuts), for each setting asked for");
  cmd->add_option("--detector", opt->detectors, "Detectors to run, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember({"faceapi", "haar", "yunet"}))
      ->capture_default_str();
  cmd->add_option("--detection-interval", opt->intervals,
                  "Detection intervals to run, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--set", opt->sets,
                  "Another hespfacecrop property to vary, PROPERTY=VALUE[,VALUE...] (repeatable; "
                  "every combination runs)");
  add_input_file(cmd, "--yunet-model", opt->yunet_model,
                 "YuNet ONNX model for --detector yunet (without one, yunet is skipped)");
  add_ranged_default(cmd, "--detector-input-size", opt->face.detector_input_size,
                     "faceapi detector: network input side (multiple of 32)", 32, 2048);
  add_ranged_default(cmd, "--sensitivity", opt->face.sensitivity,
                     "Face detector sensitivity (0..1)", 0.0, 1.0);
  add_ranged_default(cmd, "--min-face-size", opt->face.min_face_size,
                     "Smallest face side, pixels; smaller faces need not be found", 4, 4096);
  add_ranged_default(cmd, "--detection-scale", opt->face.detection_scale,
                     "Detect on the frame scaled by this", 0.1, 1.0);
  add_input_file(cmd, "--video", opt->video,
                 "A video made by `hesp demo-video` with the same size, fps, shot length and "
                 "shots (default: film one into a temporary file)");
  add_input_file(cmd, "--truth", opt->truth,
                 "Ground-truth faces of the photos (default: the demo_faces.json hesp comes with)");
  cmd->add_option("--photos", opt->demo.photos_dir,
                  "Folder with sample1.jpg ... sample6.jpg (default: "
                  "$HESP_CACHE_DIR/npm/face-api-1.7.15/demo)");
  add_ranged_default(cmd, "--shots", opt->demo.shots, "Film only the first n photos", 1,
                     kDemoPhotos);
  add_ranged_default(cmd, "--seconds-per-photo", opt->demo.seconds_per_photo, "Length of each shot",
                     0.1, 600.0);
  add_ranged_default(cmd, "--width", opt->demo.width, "Frame width", 64, 7680);
  add_ranged_default(cmd, "--height", opt->demo.height, "Frame height", 64, 4320);
  add_ranged_default(cmd, "--fps", opt->demo.fps, "Frames per second", 1, 120);
  add_ranged_default(cmd, "--iou", opt->metrics.iou_threshold,
                     "Least IoU for a box to match a face", 0.05, 1.0);
  add_ranged_default(cmd, "--min-visible", opt->min_visible,
                     "Faces with less of their box inside the frame need not be found", 0.0, 1.0);
  add_ranged_default(cmd, "--occlude", opt->occlude_frames,
                     "Hide the largest face of every shot for this many frames around the shot's "
                     "middle (a grey box), to score re-identification; 0 = off",
                     0, 100000);
  cmd->add_option("--json", opt->json, "Also write every number to this JSON file");
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress on stderr");
  cmd->callback([opt] { run_bench_tracking(*opt); });
}

}  // namespace hesp::cli

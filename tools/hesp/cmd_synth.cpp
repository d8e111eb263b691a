// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp synth`: writes a synthetic expression data set (frame folders or videos, annotation files
// in the MAFW/DFEW line format, captions) and optionally a contact sheet of what it contains.
#include <gst/app/gstappsrc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "gst_session.h"
#include "hesp/error.h"
#include "hesp/synth.h"
#include "option_kinds.h"

namespace hesp::cli {

namespace {

struct SynthOptions {
  std::string out_dir;
  std::uint64_t seed = 0;
  std::string clips_per_class = "16:4";
  int frames = 16;
  int size = 224;
  double fps = 10.0;
  std::string classes = "mafw";
  std::string format = "frames";
  std::string image_format = "jpg";
  int jpeg_quality = 95;
  int threads = 0;
  bool no_idle = false;
  bool face_captions = false;
  bool face_crop = false;
  bool clean = false;
  bool overwrite = false;
  std::string preview;
  int preview_columns = 6;
  bool quiet = false;
};

// Encodes each clip to its own video file through appsrc, as `hesp demo-video` does. x264 runs
// single-threaded: its output then does not depend on the machine, and clips are encoded in
// parallel anyway.
class GstVideoWriter : public synth::ClipWriter {
 public:
  explicit GstVideoWriter(std::string format) : format_(std::move(format)) {}

  std::string write(const std::string& out_dir, const std::string& stem,
                    const std::vector<std::vector<std::uint8_t>>& frames, int size,
                    double fps) override {
    const std::string rel = stem + (format_ == "mp4" ? ".mp4" : ".avi");
    const std::string path = out_dir + "/" + rel;
    const std::string folder = path.substr(0, path.find_last_of('/'));
    if (g_mkdir_with_parents(folder.c_str(), 0755) != 0)
      throw Error("cannot create folder '" + folder + "'");
    const std::string encoder =
        format_ == "mp4"
            ? "x264enc threads=1 speed-preset=medium pass=quant quantizer=18 key-int-max=30 "
              "bframes=0 ! video/x-h264,profile=high ! mp4mux"
            : "jpegenc quality=92 ! avimux";
    const std::string launch =
        "appsrc name=src format=time is-live=false block=true ! "
        "videoconvert ! " +
        encoder + " ! filesink name=sink";
    ElementPtr pipeline = parse_pipeline(
        launch,
        "x264enc needs gstreamer1.0-plugins-ugly, jpegenc and avimux gstreamer1.0-plugins-good");
    g_object_set(element_by_name(pipeline.get(), "sink").get(), "location", path.c_str(), nullptr);
    ElementPtr src_element = element_by_name(pipeline.get(), "src");
    GstElement* src = src_element.get();
    // Frame rate as a fraction with millisecond precision (25 -> 25000/1000).
    const int fps_n = static_cast<int>(fps * 1000.0 + 0.5), fps_d = 1000;
    GstCaps* caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width",
                                        G_TYPE_INT, size, "height", G_TYPE_INT, size, "framerate",
                                        GST_TYPE_FRACTION, fps_n, fps_d, nullptr);
    g_object_set(src, "caps", caps, nullptr);
    gst_caps_unref(caps);
    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
    const gsize bytes = static_cast<gsize>(size) * size * 3;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      GstBuffer* buffer = gst_buffer_new_allocate(nullptr, bytes, nullptr);
      gst_buffer_fill(buffer, 0, frames[i].data(), bytes);
      GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(i, GST_SECOND * fps_d, fps_n);
      GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(1, GST_SECOND * fps_d, fps_n);
      if (gst_app_src_push_buffer(GST_APP_SRC(src), buffer) != GST_FLOW_OK) break;
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    run_to_eos(pipeline.get());
    return rel;
  }

 private:
  std::string format_;
};

void parse_counts(const std::string& text, int& train, int& test) {
  const auto colon = text.find(':');
  try {
    std::size_t used = 0;
    train = std::stoi(text.substr(0, colon), &used);
    if (used != (colon == std::string::npos ? text.size() : colon)) throw std::invalid_argument("");
    test = 0;
    if (colon != std::string::npos) {
      const std::string t = text.substr(colon + 1);
      test = std::stoi(t, &used);
      if (used != t.size()) throw std::invalid_argument("");
    }
  } catch (const std::logic_error&) {
    throw SettingsError("--clips-per-class '" + text + "' is not TRAIN or TRAIN:TEST");
  }
}

void run_synth(const SynthOptions& opt) {
  if (opt.out_dir.empty() && opt.preview.empty())
    throw SettingsError("nothing to do: give --out DIR for a data set and/or --preview FILE.png");
  const auto classes = synth::parse_classes(opt.classes);
  if (!opt.preview.empty()) {
    synth::write_preview(opt.preview, classes, opt.seed, opt.preview_columns,
                         std::min(opt.size, 160));
    if (!opt.quiet) std::fprintf(stderr, "wrote %s\n", opt.preview.c_str());
  }
  if (opt.out_dir.empty()) return;

  synth::DatasetOptions d;
  d.out_dir = opt.out_dir;
  d.seed = opt.seed;
  parse_counts(opt.clips_per_class, d.train_per_class, d.test_per_class);
  d.clip.size = opt.size;
  d.clip.n_frames = opt.frames;
  d.clip.fps = opt.fps;
  d.clip.idle_motion = !opt.no_idle;
  d.clip.camera_effects = !opt.clean;
  d.clip.caption_context = !opt.face_captions;
  d.face_crop = opt.face_crop;
  d.classes = classes;
  d.threads = opt.threads;
  d.overwrite = opt.overwrite;

  std::unique_ptr<synth::ClipWriter> writer;
  if (opt.format == "frames") {
    writer = std::make_unique<synth::FrameFolderWriter>(
        opt.image_format == "png" ? synth::ImageFormat::kPng : synth::ImageFormat::kJpeg,
        opt.jpeg_quality);
  } else {
    if (opt.size % 2 != 0)
      throw SettingsError("--size must be even for video output (4:2:0 chroma)");
    gst_init(nullptr, nullptr);  // encoders only: the hesp plugin is not needed here
    writer = std::make_unique<GstVideoWriter>(opt.format);
  }

  const bool tty = isatty(STDERR_FILENO) != 0;
  int last_decile = -1;
  const auto start = std::chrono::steady_clock::now();
  const auto progress = [&](int done, int total) {
    if (opt.quiet) return;
    if (tty) {
      std::fprintf(stderr, "\r%d/%d clips", done, total);
      return;
    }
    const int decile = 10 * done / total;
    if (decile > last_decile) {
      last_decile = decile;
      std::fprintf(stderr, "%3d%%  %d/%d clips\n", decile * 10, done, total);
    }
  };
  const synth::DatasetSummary summary = synth::write_dataset(d, *writer, progress);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!opt.quiet) {
    int train = 0;
    for (const auto& c : summary.clips) train += c.split == "train";
    std::fprintf(stderr,
                 "%swrote %zu clips (%d train, %zu test, %d classes, %d frames of %dx%d) "
                 "to %s in %.1f s\n",
                 tty ? "\r" : "", summary.clips.size(), train, summary.clips.size() - train,
                 static_cast<int>(classes.size()), opt.frames, opt.size, opt.size,
                 opt.out_dir.c_str(), seconds);
  }
}

}  // namespace

void add_synth_command(CLI::App& app) {
  auto opt = std::make_shared<SynthOptions>();
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Write a synthetic expression data set: drawn faces whose expression rises, "
      "peaks and fades, with MAFW-style annotation files and a caption per clip");
  cmd->add_option("-o,--out", opt->out_dir, "Folder for the data set");
  cmd->add_option("--seed", opt->seed, "Seed; the same seed writes the same data set");
  cmd->add_option("--clips-per-class", opt->clips_per_class,
                  "Clips per class as TRAIN:TEST (TRAIN alone = no test split)")
      ->capture_default_str();
  add_ranged_default(cmd, "--frames", opt->frames, "Frames per clip", 1, 10000);
  add_ranged_default(cmd, "--size", opt->size, "Frame width and height in pixels", 32, 2048);
  add_ranged_default(cmd, "--fps", opt->fps,
                     "Frame rate of video files; also times blinks and idle motion", 1.0, 240.0);
  cmd->add_option("--classes", opt->classes,
                  "mafw (11 classes, MAFW ids), dfew (7, DFEW ids), or a list such as "
                  "Happy,Sad or 3:Happy,5:Sad")
      ->capture_default_str();
  cmd->add_option("--format", opt->format, "frames (one folder of images per clip), mp4 or avi")
      ->check(CLI::IsMember({"frames", "mp4", "avi"}))
      ->capture_default_str();
  cmd->add_option("--image-format", opt->image_format, "Frame files for --format frames")
      ->check(CLI::IsMember({"png", "jpg"}))
      ->capture_default_str();
  add_ranged(cmd, "--jpeg-quality", opt->jpeg_quality, "Quality of jpg frames", 1, 100);
  add_ranged(cmd, "--threads", opt->threads, "Clips rendered in parallel (0 = all cores)", 0, 256);
  cmd->add_flag("--no-idle-motion", opt->no_idle, "No blinks, head sway or gaze wander");
  cmd->add_flag("--clean", opt->clean, "No sensor noise, blur or lighting variation");
  cmd->add_flag("--face-crop", opt->face_crop,
                "Face-aligned clips like MAFW/DFEW: each clip cut to a square around the face");
  cmd->add_flag("--face-captions", opt->face_captions,
                "Captions say only what the face does (no hair, glasses, walls or light)");
  cmd->add_flag("--overwrite", opt->overwrite, "Replace a data set already in --out");
  cmd->add_option("--preview", opt->preview,
                  "Also write a PNG contact sheet: one row per class, clips at their apex");
  add_ranged(cmd, "--preview-columns", opt->preview_columns, "Clips per class on the sheet", 1, 64);
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress output");
  cmd->callback([opt] { run_synth(*opt); });
}

}  // namespace hesp::cli

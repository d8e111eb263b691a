// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp demo-video`: a real-face demo video made from the npm package's group photos, each one
// filmed by a virtual camera that pans and zooms across it.
#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "demo_video.h"
#include "gst_session.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "hesp/pan_zoom.h"
#include "option_kinds.h"

namespace hesp::cli {

namespace {

// Camera moves per photo: a slow push-in, a pan, a pull-out... so tracks see varied motion.
const PanZoomPath kPaths[] = {
    {0.50f, 0.32f, 0.95f, 0.55f, 0.30f, 0.75f}, {0.45f, 0.30f, 0.90f, 0.55f, 0.28f, 0.85f},
    {0.55f, 0.33f, 0.80f, 0.50f, 0.33f, 0.95f}, {0.45f, 0.30f, 0.95f, 0.50f, 0.28f, 0.80f},
    {0.50f, 0.45f, 0.95f, 0.50f, 0.42f, 0.90f}, {0.48f, 0.35f, 0.95f, 0.52f, 0.33f, 0.80f},
};

}  // namespace

std::string demo_photo_name(int shot) { return "sample" + std::to_string(shot + 1) + ".jpg"; }

std::string demo_photos_dir(const DemoVideoOptions& options) {
  return options.photos_dir.empty() ? cache_dir() + "/npm/face-api-1.7.15/demo"
                                    : options.photos_dir;
}

std::vector<std::unique_ptr<PanZoomSequence>> demo_shots(const DemoVideoOptions& opt) {
  const int frames_per_photo = std::max(1, static_cast<int>(opt.seconds_per_photo * opt.fps));
  std::vector<std::unique_ptr<PanZoomSequence>> shots;
  for (int i = 0; i < std::clamp(opt.shots, 1, kDemoPhotos); ++i)
    shots.push_back(
        std::make_unique<PanZoomSequence>(demo_photos_dir(opt) + "/" + demo_photo_name(i),
                                          opt.width, opt.height, frames_per_photo, kPaths[i]));
  return shots;
}

std::string make_demo_video(DemoVideoOptions opt) {
  init_gstreamer();
  if (opt.output.empty()) opt.output = cache_dir() + "/demo/demo.mp4";
  ElementPtr pipeline = parse_pipeline(
      "appsrc name=src format=time is-live=false block=true ! videoconvert ! "
      "x264enc speed-preset=veryfast tune=zerolatency key-int-max=50 ! "
      "video/x-h264,profile=high ! mp4mux ! filesink name=sink",
      "is gstreamer1.0-plugins-ugly installed?");
  g_object_set(element_by_name(pipeline.get(), "sink").get(), "location", opt.output.c_str(),
               nullptr);
  ElementPtr src_element = element_by_name(pipeline.get(), "src");
  GstElement* src = src_element.get();
  GstCaps* caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width",
                                      G_TYPE_INT, opt.width, "height", G_TYPE_INT, opt.height,
                                      "framerate", GST_TYPE_FRACTION, opt.fps, 1, nullptr);
  g_object_set(src, "caps", caps, nullptr);
  gst_caps_unref(caps);

  // Reads every photo up front (checks them before the pipeline starts).
  const auto sequences = demo_shots(opt);
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  const gsize frame_bytes = static_cast<gsize>(opt.width) * opt.height * 3;
  guint64 index = 0;
  for (const auto& seq : sequences) {
    for (int f = 0; f < seq->n_frames(); ++f, ++index) {
      GstBuffer* buffer = gst_buffer_new_allocate(nullptr, frame_bytes, nullptr);
      GstMapInfo map;
      gst_buffer_map(buffer, &map, GST_MAP_WRITE);
      seq->render(f, map.data);
      gst_buffer_unmap(buffer, &map);
      GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(index, GST_SECOND, opt.fps);
      GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(1, GST_SECOND, opt.fps);
      if (gst_app_src_push_buffer(GST_APP_SRC(src), buffer) != GST_FLOW_OK) break;
    }
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  run_to_eos(pipeline.get());
  std::fprintf(stderr, "wrote %s (%llu frames, %dx%d, %d fps)\n", opt.output.c_str(),
               static_cast<unsigned long long>(index), opt.width, opt.height, opt.fps);
  return opt.output;
}

void add_demo_video_command(CLI::App& app) {
  auto opt = std::make_shared<DemoVideoOptions>();
  CLI::App* cmd =
      app.add_subcommand("demo-video",
                         "Make the demo video: a virtual camera panning and zooming across the "
                         "face-api package's six group photos");
  cmd->add_option("--photos", opt->photos_dir,
                  "Folder with sample1.jpg ... sample6.jpg (default: "
                  "$HESP_CACHE_DIR/npm/face-api-1.7.15/demo)");
  cmd->add_option("-o,--output", opt->output,
                  "MP4 file to write (default: $HESP_CACHE_DIR/demo/demo.mp4)");
  add_ranged(cmd, "--width", opt->width, "Frame width", 64, 7680);
  add_ranged(cmd, "--height", opt->height, "Frame height", 64, 4320);
  add_ranged(cmd, "--fps", opt->fps, "Frames per second", 1, 120);
  add_ranged(cmd, "--seconds-per-photo", opt->seconds_per_photo, "Length of each shot", 0.1, 600.0);
  add_ranged(cmd, "--shots", opt->shots, "Film only the first n photos", 1, kDemoPhotos);
  cmd->callback([opt] { make_demo_video(*opt); });
}

}  // namespace hesp::cli

// SPDX-License-Identifier: LGPL-2.1-or-later
// Per-frame cost of hespclipbatch's work: crop, convert and scale the face of every track, and
// assemble clips, with 4 tracks on a real 1280x720 frame (I420 as decoders deliver it, and RGB).
#include <benchmark/benchmark.h>

#include <opencv2/imgproc.hpp>
#include <vector>

#include "hesp/face_clips.h"
#include "hesp/pan_zoom.h"
#include "test_data.h"

namespace {

struct Frame {
  std::vector<std::uint8_t> bytes;
  hesp::ImageView view;
};

Frame make_frame(bool i420) {
  hesp::PanZoomSequence seq(hesp::test::demo_photo(4), 1280, 720, 1);
  std::vector<std::uint8_t> rgb(1280 * 720 * 3);
  seq.render(0, rgb.data());
  Frame f;
  if (!i420) {
    f.bytes = rgb;
    f.view.format = hesp::PixelFormat::kRGB;
    f.view.strides[0] = 1280 * 3;
    f.view.planes[0] = f.bytes.data();
  } else {
    cv::Mat yuv;
    cv::cvtColor(cv::Mat(720, 1280, CV_8UC3, rgb.data()), yuv, cv::COLOR_RGB2YUV_I420);
    f.bytes.assign(yuv.data, yuv.data + yuv.total());
    f.view.format = hesp::PixelFormat::kI420;
    f.view.planes[0] = f.bytes.data();
    f.view.planes[1] = f.bytes.data() + 1280 * 720;
    f.view.planes[2] = f.bytes.data() + 1280 * 720 + 640 * 360;
    f.view.strides[0] = 1280;
    f.view.strides[1] = f.view.strides[2] = 640;
  }
  f.view.width = 1280;
  f.view.height = 720;
  return f;
}

// Four faces of sample4 as they sit in the frame (about 140-180 px boxes).
const hesp::Box kFaces[] = {
    {100, 170, 150, 150}, {380, 90, 140, 140}, {620, 170, 150, 150}, {880, 120, 160, 160}};

void BM_ClipBatchFourTracks(benchmark::State& state) {
  const bool i420 = state.range(0) != 0;
  const int crop = static_cast<int>(state.range(1));
  const Frame frame = make_frame(i420);
  hesp::ClipConfig config;
  config.crop_size = crop;
  config.clip_length = 8;
  config.clip_stride = 4;
  hesp::ClipAssembler assembler(config);
  std::uint64_t pts = 0;
  std::size_t clips = 0;
  for (auto _ : state) {
    assembler.begin_frame();
    for (std::uint32_t t = 0; t < 4; ++t) {
      if (!assembler.wants_frame(t)) continue;
      auto clip = assembler.add(
          t, pts, hesp::crop_face(frame.view, hesp::square_around(kFaces[t], config.margin), crop));
      clips += clip != nullptr;
    }
    assembler.end_frame();
    pts += 40000000;
  }
  state.counters["clips"] = static_cast<double>(clips);
  state.SetLabel(std::string(i420 ? "I420" : "RGB") + " crop " + std::to_string(crop));
}
BENCHMARK(BM_ClipBatchFourTracks)
    ->Args({1, 112})
    ->Args({1, 224})
    ->Args({0, 112})
    ->Args({0, 224})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

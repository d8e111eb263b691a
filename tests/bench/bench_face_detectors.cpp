// SPDX-License-Identifier: LGPL-2.1-or-later
// Time per 1280x720 frame of the face detectors: OpenCV's Haar cascade (the default frontal-face
// cascade) against face-api's tiny face detector ported to LibTorch, at the input sizes that
// matter; and time per face of the nets that run on each detected face (face-api's 68-point
// landmark nets, full and tiny, which `align=landmarks|eyes` runs, and its face recognition net;
// BM_ReidPerFace is what hespfacecrop's reid=descriptor adds per detected face: the landmark net
// for the landmark box, then the descriptor of that box).
// The frames are face-api's six demo group photos cut to 16:9 and scaled to 1280x720, so the
// detectors see real faces, cycled one per iteration. Run with
//   build/tests/bench/bench_face_detectors [--benchmark_min_time=2]
// HESP_BENCH_THREADS sets the thread count of LibTorch and OpenCV (2).
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "hesp/error.h"
#include "hesp/face_descriptor.h"
#include "hesp/face_detector.h"
#include "hesp/face_landmarks.h"

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string cache_dir() { return env_or("HESP_CACHE_DIR", env_or("HOME", ".") + "/.cache/hesp"); }

// The demo photos as 1280x720 BGR frames (centre cut to 16:9, then an area resize); empty when
// they are not in the cache.
const std::vector<cv::Mat>& frames() {
  static const std::vector<cv::Mat> cached = [] {
    std::vector<cv::Mat> out;
    for (int n = 1; n <= 6; ++n) {
      const cv::Mat photo =
          cv::imread(cache_dir() + "/npm/face-api-1.7.15/demo/sample" + std::to_string(n) + ".jpg");
      if (photo.empty()) continue;
      const int height = std::min(photo.rows, photo.cols * 9 / 16);
      const int width = height * 16 / 9;
      const cv::Rect cut((photo.cols - width) / 2, (photo.rows - height) / 2, width, height);
      cv::Mat frame;
      cv::resize(photo(cut), frame, cv::Size(1280, 720), 0, 0, cv::INTER_AREA);
      out.push_back(frame);
    }
    return out;
  }();
  return cached;
}

hesp::ImageView view_of(const cv::Mat& bgr) {
  hesp::ImageView view;
  view.format = hesp::PixelFormat::kBGR;
  view.width = bgr.cols;
  view.height = bgr.rows;
  view.planes[0] = bgr.data;
  view.strides[0] = static_cast<int>(bgr.step);
  return view;
}

void run(benchmark::State& state, const hesp::DetectorConfig& config) {
  if (frames().empty()) {
    state.SkipWithError("face-api demo photos missing in the cache (run scripts/setup.sh)");
    return;
  }
  std::unique_ptr<hesp::FaceDetector> detector;
  try {
    detector = hesp::make_face_detector(config);
  } catch (const std::exception& e) {
    state.SkipWithError(hesp::describe(e).c_str());
    return;
  }
  // One untimed pass: first calls allocate buffers and pick kernels.
  for (const auto& f : frames()) detector->detect(view_of(f));
  std::size_t i = 0, faces = 0;
  for (auto _ : state) {
    const auto found = detector->detect(view_of(frames()[i++ % frames().size()]));
    faces += found.size();
    benchmark::DoNotOptimize(found.data());
  }
  state.counters["faces_per_frame"] =
      benchmark::Counter(static_cast<double>(faces), benchmark::Counter::kAvgIterations);
  state.counters["threads"] = at::get_num_threads();
}

void BM_Haar(benchmark::State& state) {
  hesp::DetectorConfig config;
  config.kind = hesp::DetectorKind::kHaar;
  run(state, config);
}
BENCHMARK(BM_Haar)->Unit(benchmark::kMillisecond);

// Argument: the network's input size.
void BM_FaceApiTiny(benchmark::State& state) {
  hesp::DetectorConfig config;
  config.kind = hesp::DetectorKind::kFaceApiTiny;
  config.model_path = cache_dir() + "/npm/face-api-1.7.15/model";
  config.input_size = static_cast<int>(state.range(0));
  run(state, config);
}
BENCHMARK(BM_FaceApiTiny)->Arg(320)->Arg(416)->Arg(512)->Arg(608)->Unit(benchmark::kMillisecond);

// The faces the tiny detector finds on the demo frames at hesp run's settings (input 512): the
// boxes the per-face nets get, cycled one per iteration. Empty when the photos or nets are missing.
struct FaceOnFrame {
  std::size_t frame;
  hesp::Box box;
};
const std::vector<FaceOnFrame>& faces() {
  static const std::vector<FaceOnFrame> cached = [] {
    std::vector<FaceOnFrame> out;
    hesp::DetectorConfig config;
    config.kind = hesp::DetectorKind::kFaceApiTiny;
    config.model_path = cache_dir() + "/npm/face-api-1.7.15/model";
    config.input_size = 512;
    try {
      auto detector = hesp::make_face_detector(config);
      for (std::size_t f = 0; f < frames().size(); ++f)
        for (const auto& d : detector->detect(view_of(frames()[f]))) out.push_back({f, d.box});
    } catch (const std::exception&) {
      out.clear();
    }
    return out;
  }();
  return cached;
}

// Runs `net(frame, box)` over the demo faces; one untimed pass first.
template <typename Net>
void run_per_face(benchmark::State& state, Net&& net) {
  if (faces().empty()) {
    state.SkipWithError("no faces: face-api photos or detector missing (run scripts/setup.sh)");
    return;
  }
  for (const auto& f : faces()) net(view_of(frames()[f.frame]), f.box);
  std::size_t i = 0;
  for (auto _ : state) {
    const FaceOnFrame& f = faces()[i++ % faces().size()];
    net(view_of(frames()[f.frame]), f.box);
  }
  state.counters["faces"] = static_cast<double>(faces().size());
  state.counters["threads"] = at::get_num_threads();
}

// Argument: 0 = the full landmark net, 1 = the tiny one.
void BM_Landmarks68(benchmark::State& state) {
  const auto kind = state.range(0) == 0 ? hesp::LandmarkNet::kFull : hesp::LandmarkNet::kTiny;
  std::unique_ptr<hesp::FaceLandmarker> net;
  try {
    net = hesp::FaceLandmarker::load("", kind);
  } catch (const std::exception& e) {
    state.SkipWithError(hesp::describe(e).c_str());
    return;
  }
  run_per_face(state, [&](const hesp::ImageView& frame, const hesp::Box& box) {
    const auto points = net->locate(frame, box);
    benchmark::DoNotOptimize(points.data());
  });
}
BENCHMARK(BM_Landmarks68)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_FaceDescriptor(benchmark::State& state) {
  std::unique_ptr<hesp::FaceDescriber> net;
  try {
    net = hesp::FaceDescriber::load();
  } catch (const std::exception& e) {
    state.SkipWithError(hesp::describe(e).c_str());
    return;
  }
  run_per_face(state, [&](const hesp::ImageView& frame, const hesp::Box& box) {
    const auto descriptor = net->describe(frame, box);
    benchmark::DoNotOptimize(descriptor.data());
  });
}
BENCHMARK(BM_FaceDescriptor)->Unit(benchmark::kMillisecond);

// Argument: 1 = the full landmark net first and the descriptor of its landmark box (what
// hespfacecrop's reid does), 0 = the descriptor of the detector's box only.
void BM_ReidPerFace(benchmark::State& state) {
  std::unique_ptr<hesp::FaceLandmarker> landmarker;
  std::unique_ptr<hesp::FaceDescriber> describer;
  try {
    landmarker = hesp::FaceLandmarker::load();
    describer = hesp::FaceDescriber::load();
  } catch (const std::exception& e) {
    state.SkipWithError(hesp::describe(e).c_str());
    return;
  }
  const bool with_landmarks = state.range(0) != 0;
  run_per_face(state, [&](const hesp::ImageView& frame, const hesp::Box& box) {
    const hesp::Box face =
        with_landmarks ? hesp::landmark_box(landmarker->locate(frame, box)) : box;
    const auto descriptor = describer->describe(frame, face);
    benchmark::DoNotOptimize(descriptor.data());
  });
}
BENCHMARK(BM_ReidPerFace)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const int threads = std::atoi(env_or("HESP_BENCH_THREADS", "2").c_str());
  if (threads > 0) {
    at::set_num_threads(threads);
    cv::setNumThreads(threads);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face/faceapi_tiny_detector.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "face/detector_support.h"
#include "face/tfjs_weights.h"
#include "hesp/error.h"
#include "image/cv_image.h"

namespace hesp {

namespace {

constexpr int kAnchors = 5;
// x, y, w, h, objectness: one class ("face"), so face-api adds no class scores to the encoding.
constexpr int kBoxEncoding = 5;
// Anchor sizes in grid cells, and the per-channel RGB mean the network was trained with: the
// constants of face-api's tinyFaceDetector/const.ts.
constexpr std::array<double, kAnchors> kAnchorWidth = {1.603231, 6.041143, 2.882459, 4.266906,
                                                       9.041765};
constexpr std::array<double, kAnchors> kAnchorHeight = {2.094468, 7.080126, 3.518061, 5.178857,
                                                        10.66308};
constexpr std::array<float, 3> kMeanRgb = {117.001f, 114.697f, 97.404f};
constexpr double kIouThreshold = 0.4;
// face-api's leaky() computes relu(x - 0.1x) + 0.1x, i.e. a leaky ReLU of slope 0.1.
constexpr double kLeakySlope = 0.1;

// Channel widths of face-api's "filterSizes" for the tiny face detector: a plain 3x3 conv, then
// five depthwise-separable stages; its config has no conv6/conv7.
constexpr std::array<std::int64_t, 7> kWidths = {3, 16, 32, 64, 128, 256, 512};

// One backbone stage: 3x3 depthwise (zero padding 1, no bias), 1x1 pointwise with bias, leaky ReLU.
// Same maths as tf.separableConv2d followed by the bias add in face-api's depthwiseSeparableConv.
struct SeparableConvImpl : torch::nn::Module {
  SeparableConvImpl(std::int64_t in, std::int64_t out)
      : depthwise(register_module(
            "depthwise",
            torch::nn::Conv2d(
                torch::nn::Conv2dOptions(in, in, 3).padding(1).groups(in).bias(false)))),
        pointwise(register_module("pointwise",
                                  torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)))) {}

  // [N, in, H, W] -> [N, out, H, W]
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = pointwise(depthwise(x));
    return torch::leaky_relu_(out, kLeakySlope);
  }

  torch::nn::Conv2d depthwise;
  torch::nn::Conv2d pointwise;
};
TORCH_MODULE(SeparableConv);

// Element-wise maximum of the four 2x2-window taps; LibTorch 1.13's max_pool2d is several times
// slower than this on NCHW tensors.
torch::Tensor max_of_taps(const torch::Tensor& x, std::int64_t rows, std::int64_t cols,
                          std::int64_t step) {
  using torch::indexing::Slice;
  auto tap = [&](std::int64_t r, std::int64_t c) {
    return x.index({Slice(), Slice(), Slice(r, r + (rows - 1) * step + 1, step),
                    Slice(c, c + (cols - 1) * step + 1, step)});
  };
  return torch::maximum(torch::maximum(tap(0, 0), tap(0, 1)), torch::maximum(tap(1, 0), tap(1, 1)));
}

// face-api's maxPool(x, [2, 2], [2, 2], 'same'): TensorFlow pads an odd side by one at the end
// (never at the start). Padding with -inf lets the padded cells lose every max, as in TensorFlow.
torch::Tensor max_pool_same_stride2(const torch::Tensor& x) {
  const std::int64_t pad_rows = x.size(2) % 2, pad_cols = x.size(3) % 2;
  const auto padded = pad_rows || pad_cols
                          ? torch::constant_pad_nd(x, {0, pad_cols, 0, pad_rows},
                                                   -std::numeric_limits<float>::infinity())
                          : x;
  return max_of_taps(padded, padded.size(2) / 2, padded.size(3) / 2, 2);
}

// maxPool(x, [2, 2], [1, 1], 'same'): one row and column of padding at the end.
torch::Tensor max_pool_same_stride1(const torch::Tensor& x) {
  const auto padded =
      torch::constant_pad_nd(x, {0, 1, 0, 1}, -std::numeric_limits<float>::infinity());
  return max_of_taps(padded, x.size(2), x.size(3), 1);
}

struct TinyFaceNetImpl : torch::nn::Module {
  TinyFaceNetImpl()
      : conv0(register_module(
            "conv0", torch::nn::Conv2d(torch::nn::Conv2dOptions(kWidths[0], kWidths[1], 3)))),
        conv8(register_module("conv8", torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                           kWidths[6], kAnchors * kBoxEncoding, 1)))) {
    for (int i = 1; i <= 5; ++i)
      stages.push_back(
          register_module("conv" + std::to_string(i), SeparableConv(kWidths[i], kWidths[i + 1])));
  }

  // [N, 3, S, S] normalised RGB, S a multiple of 32 -> [N, 25, S/32, S/32]; channel a*5+k is
  // number k (x, y, w, h, objectness) of anchor a.
  torch::Tensor forward(const torch::Tensor& x) {
    // conv0 is 'valid': S -> S-2, which the first pooling halves to S/2-1.
    auto out = conv0(x);
    out = max_pool_same_stride2(torch::leaky_relu_(out, kLeakySlope));
    for (size_t i = 0; i < stages.size(); ++i) {
      out = stages[i](out);
      out = i + 1 < stages.size() ? max_pool_same_stride2(out) : max_pool_same_stride1(out);
    }
    return conv8(out);
  }

  torch::nn::Conv2d conv0;
  std::vector<SeparableConv> stages;
  torch::nn::Conv2d conv8;
};
TORCH_MODULE(TinyFaceNet);

// A view of a TFJS weight with its dimensions reordered by `order` (TFJS keeps channels last);
// valid while the weight lives.
torch::Tensor tfjs_view(const TfjsTensor& w, std::initializer_list<std::int64_t> order) {
  auto t = torch::from_blob(const_cast<float*>(w.values.data()), w.shape, torch::kFloat);
  return order.size() > 0 ? t.permute(order) : t;
}

void assign(torch::Tensor& param, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  param.copy_(value);
}

// The one place where TFJS weight names meet the modules.
void load_weights(TinyFaceNet& net, const std::string& manifest_path) {
  const TfjsWeightMap weights = read_tfjs_weight_map(manifest_path);
  std::vector<std::string> expected;
  auto take = [&](const std::string& name,
                  const std::vector<std::int64_t>& shape) -> const TfjsTensor& {
    expected.push_back(name);
    return require_tfjs_tensor(weights, name, shape, manifest_path);
  };
  // Conv kernels are [kh, kw, in, out] in TFJS and [out, in, kh, kw] in torch; depthwise kernels
  // [kh, kw, in, 1] become [in, 1, kh, kw].
  assign(net->conv0->weight, tfjs_view(take("conv0/filters", {3, 3, 3, kWidths[1]}), {3, 2, 0, 1}));
  assign(net->conv0->bias, tfjs_view(take("conv0/bias", {kWidths[1]}), {}));
  for (int i = 1; i <= 5; ++i) {
    const std::string prefix = "conv" + std::to_string(i) + "/";
    const std::int64_t in = kWidths[i], out = kWidths[i + 1];
    auto& stage = net->stages[i - 1];
    assign(stage->depthwise->weight,
           tfjs_view(take(prefix + "depthwise_filter", {3, 3, in, 1}), {2, 3, 0, 1}));
    assign(stage->pointwise->weight,
           tfjs_view(take(prefix + "pointwise_filter", {1, 1, in, out}), {3, 2, 0, 1}));
    assign(stage->pointwise->bias, tfjs_view(take(prefix + "bias", {out}), {}));
  }
  assign(
      net->conv8->weight,
      tfjs_view(take("conv8/filters", {1, 1, kWidths[6], kAnchors * kBoxEncoding}), {3, 2, 0, 1}));
  assign(net->conv8->bias, tfjs_view(take("conv8/bias", {kAnchors * kBoxEncoding}), {}));
  // Extra weights mean another network (face-api's Tiny-YOLOv2 variants carry conv6/conv7); running
  // it with part of its weights would give plausible-looking nonsense.
  for (const auto& [name, tensor] : weights) {
    if (std::find(expected.begin(), expected.end(), name) == expected.end())
      throw CorruptFileError("'" + manifest_path + "' holds weight '" + name +
                             "', which face-api's tiny face detector does not have (another "
                             "network's manifest?)");
  }
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The frame as packed 8-bit three-channel pixels, and where red sits within a pixel. RGB and BGR
// frames are wrapped without a copy.
struct Packed3 {
  cv::Mat pixels;
  int red = 2;
};

Packed3 packed_pixels(const ImageView& frame) {
  if (frame.format == PixelFormat::kRGB)
    return {cv::Mat(frame.height, frame.width, CV_8UC3, const_cast<std::uint8_t*>(frame.planes[0]),
                    static_cast<size_t>(frame.strides[0])),
            0};
  return {bgr_of(frame), 2};
}

// What face-api feeds the network for an image tensor: the picture padded with zeros at the right
// or bottom to a square, resized to size x size by TensorFlow's legacy bilinear resize (no
// half-pixel centres, no anti-aliasing: each output pixel interpolates the 2x2 source pixels at
// floor/ceil(ratio * index)), minus the mean RGB, over 255. The arithmetic follows TFJS's cpu
// kernels (double intermediates, float results), so the network sees the same numbers.
torch::Tensor letterbox(const Packed3& image, int size) {
  const int width = image.pixels.cols;
  const int height = image.pixels.rows;
  const int side = std::max(width, height);
  const double ratio = static_cast<double>(side) / size;
  struct Tap {
    int lo, hi;
    double frac;
  };
  std::vector<Tap> taps(size);
  for (int i = 0; i < size; ++i) {
    const double src = ratio * i;
    const int lo = std::max(0, static_cast<int>(std::floor(src)));
    taps[i] = {lo, std::min(side - 1, static_cast<int>(std::ceil(src))), src - lo};
  }
  // Channels-last (NHWC) like the network's activations, which run about three times faster in
  // this layout than in NCHW on LibTorch's CPU kernels.
  auto input = torch::empty(
      {1, 3, size, size},
      torch::TensorOptions(torch::kFloat).memory_format(torch::MemoryFormat::ChannelsLast));
  float* pixel = input.data_ptr<float>();
  const std::array<int, 3> channel = {image.red, 1, 2 - image.red};
  for (int r = 0; r < size; ++r) {
    const Tap& ty = taps[r];
    // Rows past the picture are the zero padding.
    const std::uint8_t* top = ty.lo < height ? image.pixels.ptr<std::uint8_t>(ty.lo) : nullptr;
    const std::uint8_t* bottom = ty.hi < height ? image.pixels.ptr<std::uint8_t>(ty.hi) : nullptr;
    for (int c = 0; c < size; ++c) {
      const Tap& tx = taps[c];
      for (int ch = 0; ch < 3; ++ch, ++pixel) {
        auto at = [&](const std::uint8_t* row, int x) -> double {
          return row != nullptr && x < width ? row[3 * x + channel[ch]] : 0.0;
        };
        const double upper = at(top, tx.lo) + (at(top, tx.hi) - at(top, tx.lo)) * tx.frac;
        const double lower = at(bottom, tx.lo) + (at(bottom, tx.hi) - at(bottom, tx.lo)) * tx.frac;
        const float value = static_cast<float>(upper + (lower - upper) * ty.frac);
        *pixel = (value - kMeanRgb[ch]) / 255.f;
      }
    }
  }
  return input;
}

struct Candidate {
  // Relative to the picture (0..1 spans its width or height), as face-api's relativeBox.
  double x, y, width, height;
  double score;
};

// IoU of two candidates, measured in the network's square as face-api does (IoU does not change
// under per-axis scaling, so this equals the IoU in frame pixels).
double candidate_iou(const Candidate& a, const Candidate& b) {
  const double w = std::max(0.0, std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x));
  const double h = std::max(0.0, std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y));
  const double inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

}  // namespace

double faceapi_tiny_score_threshold(double sensitivity) {
  return std::clamp(1.0 - sensitivity, 0.01, 0.99);
}

struct FaceApiTinyDetector::Net {
  TinyFaceNet module;

  // The undecoded output, [cells, cells, 25] contiguous (TFJS's NHWC order).
  torch::Tensor run(const Packed3& image, int size) {
    c10::InferenceMode guard;
    const torch::Tensor out = module->forward(letterbox(image, size));
    return out[0].permute({1, 2, 0}).contiguous();
  }
};

FaceApiTinyDetector::FaceApiTinyDetector(const DetectorConfig& config,
                                         const std::string& manifest_path)
    : config_(config), manifest_path_(manifest_path), net_(std::make_unique<Net>()) {
  load_weights(net_->module, manifest_path_);
  net_->module->eval();
  // Kernels in the activations' channels-last layout (see letterbox), so no convolution reorders.
  torch::NoGradGuard no_grad;
  for (auto& param : net_->module->parameters())
    if (param.dim() == 4) param.set_data(param.contiguous(torch::MemoryFormat::ChannelsLast));
}

FaceApiTinyDetector::~FaceApiTinyDetector() = default;

std::string FaceApiTinyDetector::name() const {
  return "faceapi-tiny:" + manifest_path_ + "@" + std::to_string(config_.input_size);
}

float FaceApiTinyDetector::confidence_threshold() const {
  return static_cast<float>(faceapi_tiny_score_threshold(config_.sensitivity));
}

std::vector<float> FaceApiTinyDetector::raw_output(const ImageView& frame, int* cells) {
  validate(frame);
  const torch::Tensor out = net_->run(packed_pixels(frame), config_.input_size);
  if (cells != nullptr) *cells = static_cast<int>(out.size(0));
  const float* p = out.data_ptr<float>();
  return std::vector<float>(p, p + out.numel());
}

std::vector<Detection> FaceApiTinyDetector::detect(const ImageView& frame) {
  validate(frame);
  Packed3 image = packed_pixels(frame);
  const double scale = config_.input_scale;
  image.pixels = scaled_for_detection(image.pixels, scale);
  const int width = image.pixels.cols;
  const int height = image.pixels.rows;
  if (width < 1 || height < 1) return {};
  const int size = config_.input_size;
  const torch::Tensor out = net_->run(image, size);
  const int cells = static_cast<int>(out.size(0));
  const float* values = out.data_ptr<float>();

  // face-api measures boxes in the square and divides by the share of it the picture fills, whose
  // size it rounds to whole pixels (computeReshapedDimensions); at least one pixel here, so that a
  // sliver of a frame cannot divide by zero.
  const double fit = static_cast<double>(size) / std::max(width, height);
  const double correction_x = size / std::max(1.0, std::round(width * fit));
  const double correction_y = size / std::max(1.0, std::round(height * fit));
  const double threshold =
      faceapi_tiny_score_threshold(config_.sensitivity) * std::min(1.0, config_.weak_fraction);
  std::vector<Candidate> candidates;
  for (int row = 0; row < cells; ++row) {
    for (int col = 0; col < cells; ++col) {
      for (int anchor = 0; anchor < kAnchors; ++anchor) {
        const float* v = values + ((row * cells + col) * kAnchors + anchor) * kBoxEncoding;
        const double score = sigmoid(v[4]);
        if (!(score > threshold)) continue;
        const double cx = (col + sigmoid(v[0])) / cells * correction_x;
        const double cy = (row + sigmoid(v[1])) / cells * correction_y;
        const double w = std::exp(v[2]) * kAnchorWidth[anchor] / cells * correction_x;
        const double h = std::exp(v[3]) * kAnchorHeight[anchor] / cells * correction_y;
        candidates.push_back({cx - w / 2, cy - h / 2, w, h, score});
      }
    }
  }

  // Greedy NMS in face-api's visiting order: highest score first, and among equal scores the later
  // candidate first (it pops from the end of an ascending stable sort).
  std::vector<int> order(candidates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return candidates[a].score != candidates[b].score ? candidates[a].score > candidates[b].score
                                                      : a > b;
  });
  std::vector<bool> suppressed(candidates.size(), false);
  std::vector<Detection> faces;
  const double to_frame = 1.0 / scale;
  for (size_t i = 0; i < order.size(); ++i) {
    if (suppressed[order[i]]) continue;
    const Candidate& keep = candidates[order[i]];
    for (size_t j = i + 1; j < order.size(); ++j) {
      if (!suppressed[order[j]] && candidate_iou(keep, candidates[order[j]]) > kIouThreshold)
        suppressed[order[j]] = true;
    }
    const Box box{static_cast<float>(keep.x * width * to_frame),
                  static_cast<float>(keep.y * height * to_frame),
                  static_cast<float>(keep.width * width * to_frame),
                  static_cast<float>(keep.height * height * to_frame)};
    if (std::min(box.width, box.height) < static_cast<float>(config_.min_face_size)) continue;
    // Boxes of faces cut by the frame edge reach past it; the rest of the pipeline expects boxes
    // inside the frame. A box wholly inside the zero padding is no face at all.
    const Box clipped = clip_to_frame(box, frame.width, frame.height);
    if (clipped.area() <= 0.f) continue;
    faces.push_back(Detection{clipped, static_cast<float>(keep.score)});
  }
  // Stable, unlike keep_largest: faces of equal size stay in face-api's NMS order.
  std::stable_sort(faces.begin(), faces.end(), [](const Detection& a, const Detection& b) {
    return a.box.area() > b.box.area();
  });
  if (config_.max_faces > 0 && static_cast<int>(faces.size()) > config_.max_faces) {
    // Weak candidates (weak_fraction < 1) only fill the places the confident faces leave.
    const float confident_from = confidence_threshold();
    std::stable_partition(faces.begin(), faces.end(),
                          [&](const Detection& d) { return d.confidence >= confident_from; });
    faces.resize(config_.max_faces);
    std::stable_sort(faces.begin(), faces.end(), [](const Detection& a, const Detection& b) {
      return a.box.area() > b.box.area();
    });
  }
  return faces;
}

}  // namespace hesp

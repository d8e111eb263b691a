// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face/faceapi_landmarks.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "face/faceapi_input.h"
#include "face/tfjs_weights.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "torch_util/intra_op_threads.h"

namespace hesp {

namespace {

namespace F = torch::nn::functional;

constexpr int kOutputs = 136;

// TensorFlow's 'same' padding for a 3 x 3 kernel with stride 2: ceil(size / 2) outputs, the odd
// pixel of padding at the bottom and right.
torch::Tensor pad_same_stride2(const torch::Tensor& x) {
  auto pads = [](std::int64_t size) {
    const std::int64_t total = std::max<std::int64_t>(((size + 1) / 2 - 1) * 2 + 3 - size, 0);
    return std::pair<std::int64_t, std::int64_t>(total / 2, total - total / 2);
  };
  const auto [top, bottom] = pads(x.size(2));
  const auto [left, right] = pads(x.size(3));
  return F::pad(x, F::PadFuncOptions({left, right, top, bottom}));
}

// face-api's depthwiseSeparableConv: a 3 x 3 depthwise convolution without bias, a 1 x 1
// pointwise one, then the bias.
struct SeparableConvImpl : torch::nn::Module {
  SeparableConvImpl(std::int64_t in, std::int64_t out, int stride)
      : stride(stride),
        depthwise(register_module("depthwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, in, 3)
                                                                     .stride(stride)
                                                                     .padding(stride == 1 ? 1 : 0)
                                                                     .groups(in)
                                                                     .bias(false)))),
        pointwise(register_module("pointwise",
                                  torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)))) {}

  // [N, in, H, W] -> [N, out, ceil(H / stride), ceil(W / stride)]
  torch::Tensor forward(const torch::Tensor& x) {
    return pointwise(depthwise(stride == 1 ? x : pad_same_stride2(x)));
  }

  int stride;
  torch::nn::Conv2d depthwise;
  torch::nn::Conv2d pointwise;
};
TORCH_MODULE(SeparableConv);

// face-api's denseBlock3 / denseBlock4: conv0 halves the resolution (a plain convolution in the
// first block, separable in the others); every later convolution sees the ReLU of the sum of all
// earlier outputs, and the block returns the ReLU of the sum of them all.
struct DenseBlockImpl : torch::nn::Module {
  DenseBlockImpl(std::int64_t in, std::int64_t out, int convs, bool first) {
    if (first)
      plain0 = register_module("conv0",
                               torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(2)));
    else
      separable.push_back(register_module("conv0", SeparableConv(in, out, 2)));
    for (int i = 1; i < convs; ++i)
      separable.push_back(register_module("conv" + std::to_string(i), SeparableConv(out, out, 1)));
  }

  // [N, in, H, W] -> [N, out, ceil(H / 2), ceil(W / 2)]
  torch::Tensor forward(const torch::Tensor& x) {
    std::size_t next = 0;
    const torch::Tensor first =
        torch::relu(plain0 ? plain0(pad_same_stride2(x)) : separable[next++](x));
    std::vector<torch::Tensor> outs = {first};
    // out1 + (out2 + (out3 + ...)): TFJS's order of the additions.
    auto sum = [&outs] {
      torch::Tensor s = outs.back();
      for (std::size_t i = outs.size() - 1; i-- > 0;) s = outs[i] + s;
      return s;
    };
    for (; next < separable.size(); ++next)
      outs.push_back(separable[next](outs.size() == 1 ? first : torch::relu(sum())));
    return torch::relu(sum());
  }

  torch::nn::Conv2d plain0{nullptr};
  std::vector<SeparableConv> separable;
};
TORCH_MODULE(DenseBlock);

struct Architecture {
  std::vector<std::int64_t> widths;  // per block
  int convs;                         // per block
  int pool;                          // average pooling window, stride 2, 'valid'
};

Architecture architecture(LandmarkNet kind) {
  return kind == LandmarkNet::kFull ? Architecture{{32, 64, 128, 256}, 4, 7}
                                    : Architecture{{32, 64, 128}, 3, 14};
}

struct LandmarkNetModuleImpl : torch::nn::Module {
  explicit LandmarkNetModuleImpl(const Architecture& a) : pool(a.pool) {
    std::int64_t in = 3;
    for (std::size_t i = 0; i < a.widths.size(); ++i) {
      blocks.push_back(register_module("dense" + std::to_string(i),
                                       DenseBlock(in, a.widths[i], a.convs, i == 0)));
      in = a.widths[i];
    }
    fc = register_module("fc", torch::nn::Linear(in, kOutputs));
  }

  // Normalised RGB [N, 3, 112, 112] -> [N, 136] points relative to the input square.
  torch::Tensor forward(torch::Tensor x) {
    for (auto& block : blocks) x = block(x);  // 112 -> 56 -> 28 -> 14 (-> 7)
    x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(pool).stride(2));
    return fc(x.flatten(1));
  }

  int pool;
  std::vector<DenseBlock> blocks;
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(LandmarkNetModule);

torch::Tensor tfjs_view(const TfjsTensor& w, c10::IntArrayRef order) {
  auto t = torch::from_blob(const_cast<float*>(w.values.data()), w.shape, torch::kFloat);
  return order.empty() ? t : t.permute(order);
}

void assign(torch::Tensor& param, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  param.copy_(value);
}

// The one place where face-api's weight names meet the modules. TFJS keeps kernels as [kh, kw,
// in, out] (depthwise [kh, kw, in, 1]), torch as [out, in, kh, kw] ([in, 1, kh, kw]).
void load_weights(LandmarkNetModule& net, const Architecture& a, const std::string& manifest) {
  const TfjsWeightMap weights = read_tfjs_weight_map(manifest);
  std::size_t used = 0;
  auto take = [&](const std::string& name,
                  const std::vector<std::int64_t>& shape) -> const TfjsTensor& {
    ++used;
    return require_tfjs_tensor(weights, name, shape, manifest);
  };
  std::int64_t in = 3;
  for (std::size_t b = 0; b < net->blocks.size(); ++b) {
    DenseBlock& block = net->blocks[b];
    const std::int64_t out = a.widths[b];
    const std::string prefix = "dense" + std::to_string(b) + "/conv";
    std::size_t sep = 0;
    for (int c = 0; c < a.convs; ++c) {
      const std::string p = prefix + std::to_string(c) + "/";
      const std::int64_t cin = c == 0 ? in : out;
      if (c == 0 && block->plain0) {
        assign(block->plain0->weight,
               tfjs_view(take(p + "filters", {3, 3, cin, out}), {3, 2, 0, 1}));
        assign(block->plain0->bias, tfjs_view(take(p + "bias", {out}), {}));
        continue;
      }
      SeparableConv& conv = block->separable[sep++];
      assign(conv->depthwise->weight,
             tfjs_view(take(p + "depthwise_filter", {3, 3, cin, 1}), {2, 3, 0, 1}));
      assign(conv->pointwise->weight,
             tfjs_view(take(p + "pointwise_filter", {1, 1, cin, out}), {3, 2, 0, 1}));
      assign(conv->pointwise->bias, tfjs_view(take(p + "bias", {out}), {}));
    }
    in = out;
  }
  assign(net->fc->weight, tfjs_view(take("fc/weights", {in, kOutputs}), {1, 0}));
  assign(net->fc->bias, tfjs_view(take("fc/bias", {kOutputs}), {}));
  // The full net's weights include every name of the tiny one; extra weights mean another net.
  if (used != weights.size())
    throw CorruptFileError("'" + manifest + "' holds " + std::to_string(weights.size()) +
                           " weights, face-api's " +
                           (a.convs == 4 ? "FaceLandmark68Net" : "FaceLandmark68TinyNet") +
                           " has " + std::to_string(used) + " (another network's manifest?)");
}

const char* manifest_name(LandmarkNet kind) {
  return kind == LandmarkNet::kFull ? kFaceApiLandmarksManifestName
                                    : kFaceApiLandmarksTinyManifestName;
}

Point mean_of(const FaceLandmarks& points, int first, int last) {
  double x = 0.0, y = 0.0;
  for (int i = first; i <= last; ++i) {
    x += points[i].x;
    y += points[i].y;
  }
  const int n = last - first + 1;
  return {static_cast<float>(x / n), static_cast<float>(y / n)};
}

}  // namespace

struct FaceApiLandmarkNet::Net {
  LandmarkNetModule module{nullptr};
};

FaceApiLandmarkNet::FaceApiLandmarkNet(const std::string& manifest_path, LandmarkNet kind)
    : kind_(kind), manifest_path_(manifest_path), net_(std::make_unique<Net>()) {
  const Architecture a = architecture(kind);
  net_->module = LandmarkNetModule(a);
  load_weights(net_->module, a, manifest_path_);
  net_->module->eval();
}

FaceApiLandmarkNet::~FaceApiLandmarkNet() = default;

std::vector<float> FaceApiLandmarkNet::raw_output(const cv::Mat& rgb) {
  c10::InferenceMode guard;
  // One face is too little work to share between threads (torch_util/intra_op_threads.h).
  const torch_util::IntraOpThreadsScope one_thread(1);
  const torch::Tensor out =
      net_->module->forward(faceapi_square_input(rgb, kFaceApiLandmarkInputSize, kFaceApiMeanRgb));
  const float* p = out.data_ptr<float>();
  return std::vector<float>(p, p + kOutputs);
}

FaceLandmarks FaceApiLandmarkNet::locate_in_crop(const cv::Mat& rgb) {
  const std::vector<float> out = raw_output(rgb);
  // postProcess: the square's coordinates minus the (fractional, centred) padding of the
  // resized crop, over the resized crop's size, times the crop's size.
  const double size = kFaceApiLandmarkInputSize;
  const double scale = size / std::max(rgb.cols, rgb.rows);
  const double width = rgb.cols * scale, height = rgb.rows * scale;
  const double pad_x = width < height ? std::abs(width - height) / 2 : 0.0;
  const double pad_y = height < width ? std::abs(width - height) / 2 : 0.0;
  FaceLandmarks points;
  for (int i = 0; i < 68; ++i) {
    const float rel_x = static_cast<float>((out[2 * i] * size - pad_x) / width);
    const float rel_y = static_cast<float>((out[2 * i + 1] * size - pad_y) / height);
    points[i] = {rel_x * rgb.cols, rel_y * rgb.rows};
  }
  return points;
}

// ---------------------------------------------------------------------------------------------
// The public API.

struct FaceLandmarker::Impl {
  Impl(const std::string& manifest, LandmarkNet kind) : net(manifest, kind) {}
  FaceApiLandmarkNet net;
};

std::string default_faceapi_landmarks_manifest_path(LandmarkNet net) {
  return cache_dir() + "/npm/face-api-1.7.15/model/" + manifest_name(net);
}

std::unique_ptr<FaceLandmarker> FaceLandmarker::load(const std::string& path, LandmarkNet net) {
  namespace fs = std::filesystem;
  std::string manifest = path.empty() ? default_faceapi_landmarks_manifest_path(net) : path;
  std::error_code ec;
  if (fs::is_directory(manifest, ec)) manifest += std::string("/") + manifest_name(net);
  if (!fs::is_regular_file(manifest, ec))
    throw FileNotFoundError("face-api landmark weights manifest '" + manifest + "' not found" +
                            (path.empty() ? " (scripts/setup.sh unpacks it there)" : ""));
  return std::unique_ptr<FaceLandmarker>(new FaceLandmarker(std::make_unique<Impl>(manifest, net)));
}

FaceLandmarker::FaceLandmarker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceLandmarker::~FaceLandmarker() = default;

std::string FaceLandmarker::name() const {
  return std::string(impl_->net.kind() == LandmarkNet::kFull ? "faceapi-landmarks:"
                                                             : "faceapi-landmarks-tiny:") +
         impl_->net.manifest_path();
}

FaceLandmarks FaceLandmarker::locate(const ImageView& frame, const Box& face) {
  validate(frame);
  const cv::Rect region = faceapi_face_region(face, frame.width, frame.height);
  if (region.empty()) throw InputError("face box lies outside the frame");
  FaceLandmarks points = impl_->net.locate_in_crop(faceapi_face_pixels(frame, region));
  for (Point& p : points) {
    p.x += static_cast<float>(region.x);
    p.y += static_cast<float>(region.y);
  }
  return points;
}

Point left_eye_centre(const FaceLandmarks& points) { return mean_of(points, 36, 41); }
Point right_eye_centre(const FaceLandmarks& points) { return mean_of(points, 42, 47); }

Box landmark_box(const FaceLandmarks& points, float padding) {
  float x0 = points[0].x, y0 = points[0].y, x1 = x0, y1 = y0;
  for (const Point& p : points) {
    x0 = std::min(x0, p.x);
    y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x);
    y1 = std::max(y1, p.y);
  }
  const float w = x1 - x0, h = y1 - y0;
  return {x0 - w * padding / 2, y0 - h * padding / 2, w * (1 + padding), h * (1 + padding)};
}

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "face/faceapi_descriptor.h"

#include <torch/torch.h>

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

// face-api's convLayer: convolution with bias, then its scale layer (a per-channel affine map,
// dlib's folded batch norm), then optionally ReLU. Stride 1 is 'same' padding, the stride-2
// ("down") layers are 'valid'.
struct ConvLayerImpl : torch::nn::Module {
  ConvLayerImpl(std::int64_t in, std::int64_t out, int kernel, int stride)
      : conv(
            register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                          .stride(stride)
                                                          .padding(stride == 1 ? kernel / 2 : 0)))),
        scale_weights(register_parameter("scale_weights", torch::ones({1, out, 1, 1}))),
        scale_biases(register_parameter("scale_biases", torch::zeros({1, out, 1, 1}))) {}

  // [N, in, H, W] -> [N, out, H', W']
  torch::Tensor forward(const torch::Tensor& x, bool relu) {
    auto out = conv(x) * scale_weights + scale_biases;
    return relu ? torch::relu(out) : out;
  }

  torch::nn::Conv2d conv;
  torch::Tensor scale_weights, scale_biases;
};
TORCH_MODULE(ConvLayer);

// face-api's residual / residualDown.
struct ResidualImpl : torch::nn::Module {
  ResidualImpl(std::int64_t in, std::int64_t out, bool down)
      : down(down),
        conv1(register_module("conv1", ConvLayer(in, out, 3, down ? 2 : 1))),
        conv2(register_module("conv2", ConvLayer(out, out, 3, 1))) {}

  // [N, in, H, W] -> [N, out, H, W], or [N, out, floor(H/2), floor(W/2)] when down
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = conv2->forward(conv1->forward(x, true), false);
    if (!down) return torch::relu(out + x);
    torch::Tensor pooled = F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).stride(2));
    // The 'valid' 3 x 3 convolution can come out one pixel smaller than the pooled shortcut
    // (3 vs 4, 1 vs 2): face-api appends a zero row and column.
    if (out.size(2) != pooled.size(2) || out.size(3) != pooled.size(3))
      out = F::pad(out, F::PadFuncOptions(
                            {0, pooled.size(3) - out.size(3), 0, pooled.size(2) - out.size(2)}));
    // More channels out than in: the shortcut gets zero channels appended.
    if (pooled.size(1) != out.size(1))
      pooled = F::pad(pooled, F::PadFuncOptions({0, 0, 0, 0, 0, out.size(1) - pooled.size(1)}));
    return torch::relu(pooled + out);
  }

  bool down;
  ConvLayer conv1, conv2;
};
TORCH_MODULE(Residual);

// The residual layers in order: name, input and output channels, whether it halves.
struct LayerSpec {
  const char* name;
  std::int64_t in, out;
  bool down;
};
constexpr LayerSpec kLayers[] = {
    {"conv32_1", 32, 32, false},      {"conv32_2", 32, 32, false},
    {"conv32_3", 32, 32, false},      {"conv64_down", 32, 64, true},
    {"conv64_1", 64, 64, false},      {"conv64_2", 64, 64, false},
    {"conv64_3", 64, 64, false},      {"conv128_down", 64, 128, true},
    {"conv128_1", 128, 128, false},   {"conv128_2", 128, 128, false},
    {"conv256_down", 128, 256, true}, {"conv256_1", 256, 256, false},
    {"conv256_2", 256, 256, false},   {"conv256_down_out", 256, 256, true},
};

struct RecognitionNetImpl : torch::nn::Module {
  RecognitionNetImpl()
      : conv32_down(register_module("conv32_down", ConvLayer(3, 32, 7, 2))),
        fc(register_parameter("fc", torch::zeros({256, kFaceDescriptorSize}))) {
    for (const LayerSpec& l : kLayers)
      layers.push_back(register_module(l.name, Residual(l.in, l.out, l.down)));
  }

  // Normalised RGB [N, 3, 150, 150] -> descriptors [N, 128]
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = conv32_down->forward(x, true);               // 72 x 72
    out = F::max_pool2d(out, F::MaxPool2dFuncOptions(3).stride(2));  // 35 x 35
    for (auto& layer : layers) out = layer(out);                     // 17, 8, 4, 2
    return torch::matmul(out.mean({2, 3}), fc);
  }

  ConvLayer conv32_down;
  std::vector<Residual> layers;
  torch::Tensor fc;
};
TORCH_MODULE(RecognitionNet);

torch::Tensor tfjs_view(const TfjsTensor& w, c10::IntArrayRef order) {
  auto t = torch::from_blob(const_cast<float*>(w.values.data()), w.shape, torch::kFloat);
  return order.empty() ? t : t.permute(order);
}

// The one place where face-api's weight names meet the modules: X/conv/filters [kh, kw, in, out]
// -> X.conv.weight [out, in, kh, kw], X/conv/bias, X/scale/weights and X/scale/biases [out].
void load_weights(RecognitionNet& net, const std::string& manifest) {
  const TfjsWeightMap weights = read_tfjs_weight_map(manifest);
  torch::NoGradGuard no_grad;
  std::size_t used = 0;
  auto load_conv = [&](ConvLayer& layer, const std::string& prefix, std::int64_t in,
                       std::int64_t out, std::int64_t kernel) {
    auto take = [&](const std::string& name, const std::vector<std::int64_t>& shape) {
      ++used;
      return require_tfjs_tensor(weights, prefix + "/" + name, shape, manifest);
    };
    layer->conv->weight.copy_(
        tfjs_view(take("conv/filters", {kernel, kernel, in, out}), {3, 2, 0, 1}));
    layer->conv->bias.copy_(tfjs_view(take("conv/bias", {out}), {}));
    layer->scale_weights.copy_(tfjs_view(take("scale/weights", {out}), {}).view({1, out, 1, 1}));
    layer->scale_biases.copy_(tfjs_view(take("scale/biases", {out}), {}).view({1, out, 1, 1}));
  };
  load_conv(net->conv32_down, "conv32_down", 3, 32, 7);
  for (std::size_t i = 0; i < net->layers.size(); ++i) {
    const LayerSpec& l = kLayers[i];
    load_conv(net->layers[i]->conv1, std::string(l.name) + "/conv1", l.in, l.out, 3);
    load_conv(net->layers[i]->conv2, std::string(l.name) + "/conv2", l.out, l.out, 3);
  }
  ++used;
  net->fc.copy_(
      tfjs_view(require_tfjs_tensor(weights, "fc", {256, kFaceDescriptorSize}, manifest), {}));
  if (used != weights.size())
    throw CorruptFileError("'" + manifest + "' holds " + std::to_string(weights.size()) +
                           " weights, face-api's FaceRecognitionNet has " + std::to_string(used) +
                           " (another network's manifest?)");
}

}  // namespace

struct FaceApiDescriptorNet::Net {
  RecognitionNet module;
};

FaceApiDescriptorNet::FaceApiDescriptorNet(const std::string& manifest_path)
    : manifest_path_(manifest_path), net_(std::make_unique<Net>()) {
  load_weights(net_->module, manifest_path_);
  net_->module->eval();
}

FaceApiDescriptorNet::~FaceApiDescriptorNet() = default;

std::vector<float> FaceApiDescriptorNet::describe_crop(const cv::Mat& rgb) {
  c10::InferenceMode guard;
  // One face is too little work to share between threads (torch_util/intra_op_threads.h).
  const torch_util::IntraOpThreadsScope one_thread(1);
  const torch::Tensor out = net_->module->forward(
      faceapi_square_input(rgb, kFaceApiDescriptorInputSize, kFaceApiMeanRgb));
  const float* p = out.data_ptr<float>();
  return std::vector<float>(p, p + kFaceDescriptorSize);
}

// ---------------------------------------------------------------------------------------------
// The public API.

struct FaceDescriber::Impl {
  explicit Impl(const std::string& manifest) : net(manifest) {}
  FaceApiDescriptorNet net;
};

std::string default_faceapi_descriptor_manifest_path() {
  return cache_dir() + "/npm/face-api-1.7.15/model/" + kFaceApiDescriptorManifestName;
}

std::unique_ptr<FaceDescriber> FaceDescriber::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::string manifest = path.empty() ? default_faceapi_descriptor_manifest_path() : path;
  std::error_code ec;
  if (fs::is_directory(manifest, ec)) manifest += std::string("/") + kFaceApiDescriptorManifestName;
  if (!fs::is_regular_file(manifest, ec))
    throw FileNotFoundError("face-api recognition weights manifest '" + manifest + "' not found" +
                            (path.empty() ? " (scripts/setup.sh unpacks it there)" : ""));
  return std::unique_ptr<FaceDescriber>(new FaceDescriber(std::make_unique<Impl>(manifest)));
}

FaceDescriber::FaceDescriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceDescriber::~FaceDescriber() = default;

std::string FaceDescriber::name() const {
  return "faceapi-descriptor:" + impl_->net.manifest_path();
}

std::vector<float> FaceDescriber::describe(const ImageView& frame, const Box& face) {
  validate(frame);
  const cv::Rect region = faceapi_face_region(face, frame.width, frame.height);
  if (region.empty()) throw InputError("face box lies outside the frame");
  return impl_->net.describe_crop(faceapi_face_pixels(frame, region));
}

float face_distance(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size())
    throw InputError("face descriptors of different sizes (" + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + ")");
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return static_cast<float>(std::sqrt(sum));
}

}  // namespace hesp

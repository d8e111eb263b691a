// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/clip_encoder.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "clip/clip_checkpoint.h"
#include "hesp/clip_preprocess.h"
#include "hesp/error.h"
#include "hesp/face_clips.h"
#include "torch_util/torch_device.h"
#include "util/cpu_features.h"

namespace hesp {

namespace {

// LibTorch errors carry a C++ backtrace in what(); users get the message, as a typed error.
template <typename F>
auto torch_guard(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Error(std::string(what) + ": " + e.what_without_backtrace());
  }
}

Embeddings to_embeddings(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous();
  Embeddings e;
  e.count = static_cast<int>(c.size(0));
  e.dim = static_cast<int>(c.size(1));
  e.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return e;
}

void append(Embeddings& all, const Embeddings& part) {
  all.dim = part.dim;
  all.count += part.count;
  all.values.insert(all.values.end(), part.values.begin(), part.values.end());
}

// One image to preprocess: pixels with their size.
using Frame = ClipEncoder::RgbView;

}  // namespace

void Embeddings::normalize() {
  for (int i = 0; i < count; ++i) {
    float* r = values.data() + static_cast<std::size_t>(i) * dim;
    double sum = 0.0;
    for (int k = 0; k < dim; ++k) sum += double(r[k]) * r[k];
    if (sum <= 0.0) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(sum));
    for (int k = 0; k < dim; ++k) r[k] *= inv;
  }
}

float cosine_similarity(const float* a, const float* b, int dim) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (int k = 0; k < dim; ++k) {
    ab += double(a[k]) * b[k];
    aa += double(a[k]) * a[k];
    bb += double(b[k]) * b[k];
  }
  return aa > 0.0 && bb > 0.0 ? static_cast<float>(ab / std::sqrt(aa * bb)) : 0.f;
}

struct ClipEncoder::Impl {
  // forward() is not const in LibTorch's module API, though it changes nothing here.
  mutable clip::ClipModel model{nullptr};
  ClipOptions options;
  ClipGeometry geometry;
  at::Device device{at::kCPU};
  float logit_scale = 0.f;

  // OpenMP's thread count belongs to the calling thread (see ClipOptions::threads).
  void use_threads() const {
    if (options.threads > 0 && at::get_num_threads() != options.threads)
      at::set_num_threads(options.threads);
  }

  // images: [m, 3, S, S] float on the CPU.
  Embeddings run_vision(const at::Tensor& images) const {
    return to_embeddings(model->encode_image(images.to(device)));
  }

  Embeddings encode_frames(const std::vector<Frame>& frames) const;
};

Embeddings ClipEncoder::Impl::encode_frames(const std::vector<Frame>& frames) const {
  const int s = geometry.image_size;
  for (const Frame& f : frames)
    if (!f.pixels || f.width <= 0 || f.height <= 0 || f.stride < 3 * f.width)
      throw InputError("an RGB image of " + std::to_string(f.width) + "x" +
                       std::to_string(f.height) + " (stride " + std::to_string(f.stride) +
                       ") is not usable");
  c10::InferenceMode inference;
  use_threads();
  Embeddings all;
  all.dim = geometry.embed_dim;
  for (std::size_t start = 0; start < frames.size(); start += options.max_batch) {
    const std::size_t m = std::min<std::size_t>(options.max_batch, frames.size() - start);
    at::Tensor batch = at::empty({static_cast<int64_t>(m), 3, s, s}, at::kFloat);
    float* dst = batch.data_ptr<float>();
    const std::size_t image_floats = static_cast<std::size_t>(3) * s * s;
    // Preprocessing writes straight into the model's input tensor, one image per task.
    at::parallel_for(0, static_cast<int64_t>(m), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const Frame& f = frames[start + i];
        clip_preprocess(f.pixels, f.width, f.height, f.stride, s, dst + i * image_floats);
      }
    });
    append(all, torch_guard("CLIP image encoder", [&] { return run_vision(batch); }));
  }
  return all;
}

ClipEncoder::ClipEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClipEncoder::~ClipEncoder() = default;

std::unique_ptr<ClipEncoder> ClipEncoder::load(const std::string& checkpoint,
                                               const ClipOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.max_batch <= 0)
    throw SettingsError("CLIP max_batch must be positive, got " +
                        std::to_string(options.max_batch));
  if (options.threads < 0)
    throw SettingsError("CLIP threads must be 0 (default) or positive, got " +
                        std::to_string(options.threads));
  impl->device = torch_util::torch_device(options.device);
  const bool bf16 = options.precision == ClipPrecision::kBFloat16;
  if (bf16 && (!impl->device.is_cpu() || !util::cpu_has_avx512_bf16() || !at::hasMKLDNN()))
    throw SettingsError(
        "bf16 CLIP inference needs a CPU with AVX-512 BF16 and LibTorch with oneDNN");

  impl->use_threads();
  try {
    impl->model = clip::load_clip_checkpoint(checkpoint);
  } catch (const c10::Error& e) {
    throw CorruptFileError("cannot load CLIP checkpoint '" + checkpoint +
                           "': " + e.what_without_backtrace());
  }
  torch_guard("moving the CLIP model to the device", [&] {
    impl->model->to(impl->device);
    return 0;
  });
  clip::LinearKernel kernel;
  kernel.onednn = options.use_onednn && impl->device.is_cpu() && at::hasMKLDNN();
  kernel.bf16 = bf16;
  kernel.packed_vision = options.packed_kernels && !bf16 && impl->device.is_cpu();
  impl->model->set_kernel(kernel);

  const clip::ModelGeometry& g = impl->model->geometry();
  ClipGeometry& out = impl->geometry;
  out.image_tower = g.vision.resnet() ? ClipImageTower::kResNet : ClipImageTower::kViT;
  if (g.vision.resnet())
    out.vision_stage_blocks.assign(g.vision.stage_blocks.begin(), g.vision.stage_blocks.end());
  out.image_size = static_cast<int>(g.vision.image_size);
  out.patch_size = static_cast<int>(g.vision.patch_size);
  out.vision_width = static_cast<int>(g.vision.width);
  out.vision_layers = static_cast<int>(g.vision.layers);
  out.vision_heads = static_cast<int>(g.vision.heads);
  out.context_length = static_cast<int>(g.text.context_length);
  out.vocab_size = static_cast<int>(g.text.vocab_size);
  out.text_width = static_cast<int>(g.text.width);
  out.text_layers = static_cast<int>(g.text.layers);
  out.text_heads = static_cast<int>(g.text.heads);
  out.embed_dim = static_cast<int>(g.vision.embed_dim);
  impl->logit_scale = std::exp(impl->model->logit_scale.item<float>());
  return std::unique_ptr<ClipEncoder>(new ClipEncoder(std::move(impl)));
}

const ClipGeometry& ClipEncoder::geometry() const { return impl_->geometry; }
float ClipEncoder::logit_scale() const { return impl_->logit_scale; }
const ClipOptions& ClipEncoder::options() const { return impl_->options; }

Embeddings ClipEncoder::encode_text(const std::vector<std::vector<int>>& tokens) const {
  const ClipGeometry& g = impl_->geometry;
  // Each row is read at its first largest id; positions after it cannot influence that row
  // (causal attention), so every row is cut there and a batch only runs as long as its longest
  // prompt. The result is the same as running all context_length positions.
  std::vector<int> read_at(tokens.size());
  for (std::size_t r = 0; r < tokens.size(); ++r) {
    const auto& row = tokens[r];
    if (row.empty() || static_cast<int>(row.size()) > g.context_length)
      throw InputError("token row " + std::to_string(r) + " has " + std::to_string(row.size()) +
                       " ids; CLIP reads 1 to " + std::to_string(g.context_length));
    for (int id : row)
      if (id < 0 || id >= g.vocab_size)
        throw InputError("token row " + std::to_string(r) + " holds id " + std::to_string(id) +
                         ", outside the vocabulary of " + std::to_string(g.vocab_size));
    read_at[r] = static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
  }
  c10::InferenceMode inference;
  impl_->use_threads();
  Embeddings all;
  all.dim = g.embed_dim;
  for (std::size_t start = 0; start < tokens.size(); start += impl_->options.max_batch) {
    const std::size_t m = std::min<std::size_t>(impl_->options.max_batch, tokens.size() - start);
    int len = 1;
    for (std::size_t r = start; r < start + m; ++r) len = std::max(len, read_at[r] + 1);
    at::Tensor ids = at::zeros({static_cast<int64_t>(m), len}, at::kLong);
    auto acc = ids.accessor<int64_t, 2>();
    for (std::size_t r = 0; r < m; ++r) {
      const auto& row = tokens[start + r];
      const int n = std::min<int>(len, static_cast<int>(row.size()));
      for (int k = 0; k < n; ++k) acc[r][k] = row[k];
    }
    append(all, torch_guard("CLIP text encoder", [&] {
             return to_embeddings(impl_->model->text->forward(ids.to(impl_->device)));
           }));
  }
  return all;
}

Embeddings ClipEncoder::encode_images(const float* nchw, int n) const {
  if (n < 0 || (n > 0 && !nchw)) throw InputError("no image data given");
  const int s = impl_->geometry.image_size;
  c10::InferenceMode inference;
  impl_->use_threads();
  Embeddings all;
  all.dim = impl_->geometry.embed_dim;
  const std::size_t image_floats = static_cast<std::size_t>(3) * s * s;
  for (int start = 0; start < n; start += impl_->options.max_batch) {
    const int m = std::min(impl_->options.max_batch, n - start);
    // The caller's memory is used in place; the model only reads its input.
    const at::Tensor batch =
        at::from_blob(const_cast<float*>(nchw) + start * image_floats, {m, 3, s, s}, at::kFloat);
    append(all, torch_guard("CLIP image encoder", [&] { return impl_->run_vision(batch); }));
  }
  return all;
}

Embeddings ClipEncoder::encode_rgb_crops(const std::uint8_t* rgb, int n, int crop_size) const {
  if (n < 0 || crop_size <= 0 || (n > 0 && !rgb))
    throw InputError("RGB crops: bad count " + std::to_string(n) + " or size " +
                     std::to_string(crop_size));
  const std::size_t crop_bytes = static_cast<std::size_t>(crop_size) * crop_size * 3;
  std::vector<Frame> frames(n);
  for (int i = 0; i < n; ++i)
    frames[i] = {rgb + i * crop_bytes, crop_size, crop_size, crop_size * 3};
  return impl_->encode_frames(frames);
}

Embeddings ClipEncoder::encode_clips(const std::vector<const Clip*>& clips) const {
  std::vector<Frame> frames;
  for (std::size_t c = 0; c < clips.size(); ++c) {
    const Clip* clip = clips[c];
    if (!clip) throw InputError("clip " + std::to_string(c) + " is null");
    const std::size_t crop_bytes = static_cast<std::size_t>(clip->crop_size) * clip->crop_size * 3;
    if (clip->crop_size <= 0 || clip->n_frames < 0 ||
        clip->frames.size() != crop_bytes * clip->n_frames)
      throw InputError("clip " + std::to_string(c) + " (track " + std::to_string(clip->track_id) +
                       ") holds " + std::to_string(clip->frames.size()) + " bytes, expected " +
                       std::to_string(clip->n_frames) + " crops of " +
                       std::to_string(clip->crop_size) + "x" + std::to_string(clip->crop_size) +
                       " RGB");
    for (int i = 0; i < clip->n_frames; ++i)
      frames.push_back({clip->frames.data() + i * crop_bytes, clip->crop_size, clip->crop_size,
                        clip->crop_size * 3});
  }
  return impl_->encode_frames(frames);
}

Embeddings ClipEncoder::encode_rgb_images(const std::vector<RgbView>& images) const {
  return impl_->encode_frames(images);
}

}  // namespace hesp

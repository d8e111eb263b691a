// SPDX-License-Identifier: LGPL-2.1-or-later
#include "clip/packed_vision.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "clip/clip_model.h"
#include "clip/vit_kernels.h"

namespace hesp::clip {

namespace {

constexpr float kLayerNormEps = 1e-5f;

at::Tensor param(const at::Tensor& t) { return t.detach().contiguous(); }

PackedVision::Matrix pack(const at::Tensor& weight) {
  const at::Tensor w = weight.detach().reshape({weight.size(0), -1}).contiguous();
  PackedVision::Matrix m;
  m.n = w.size(0);
  m.k = w.size(1);
  m.packed = at::empty({kernels::packed_floats(m.n, m.k)}, w.options());
  kernels::pack_weight(w.data_ptr<float>(), m.k, m.n, m.k, m.packed.data_ptr<float>());
  return m;
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// The kernel steps of one forward pass, run in one parallel region: each thread takes the next
// task of the whole list as it finishes one (an atomic counter), and a task waits only for the
// step before its own to be complete. Two things a shared machine punishes are avoided: a static
// split that leaves a step waiting for a thread the OS has put aside (the other threads take
// over its share), and a fork/join per step, where OpenMP's passive wait puts every thread to
// sleep and each wake-up can cost a scheduler time slice. A finished step implies all earlier
// ones are (each of its tasks waited for the one before), so a step may read any earlier output.
class Steps {
 public:
  void add(int64_t tasks, std::function<void(int64_t)> f) {
    if (tasks > 0) steps_.push_back({tasks, std::move(f)});
  }

  void run() const {
    std::vector<int64_t> end(steps_.size());
    int64_t total = 0;
    for (std::size_t s = 0; s < steps_.size(); ++s) end[s] = total += steps_[s].tasks;
    const int64_t threads = std::min<int64_t>(at::get_num_threads(), total);
    if (threads <= 1 || at::in_parallel_region()) {
      for (const Step& step : steps_)
        for (int64_t t = 0; t < step.tasks; ++t) step.f(t);
      return;
    }
    std::atomic<int64_t> next{0};
    std::unique_ptr<std::atomic<int64_t>[]> done(new std::atomic<int64_t>[steps_.size()]);
    for (std::size_t s = 0; s < steps_.size(); ++s) done[s].store(0, std::memory_order_relaxed);
    // One call per thread; the range is ignored, tasks come from the counter.
    at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
      std::size_t s = 0;
      for (int64_t t = next.fetch_add(1, std::memory_order_relaxed); t < total;
           t = next.fetch_add(1, std::memory_order_relaxed)) {
        while (t >= end[s]) ++s;
        if (s > 0) wait_for(done[s - 1], steps_[s - 1].tasks);
        steps_[s].f(t - (s > 0 ? end[s - 1] : 0));
        done[s].fetch_add(1, std::memory_order_acq_rel);
      }
    });
  }

 private:
  struct Step {
    int64_t tasks;
    std::function<void(int64_t)> f;
  };

  // Spins briefly (steps are short), then lets other threads of the machine run.
  static void wait_for(const std::atomic<int64_t>& counter, int64_t value) {
    for (int spins = 0; counter.load(std::memory_order_acquire) < value; ++spins) {
      if (spins < 2000)
        cpu_relax();
      else
        std::this_thread::yield();
    }
  }

  std::vector<Step> steps_;
};

// out [m, n] from a [m, k] (row stride lda): one task per panel and row chunk.
void gemm(Steps& steps, const float* a, int64_t lda, int64_t m, const PackedVision::Matrix& w,
          const at::Tensor& bias, float* out, int64_t ldc, kernels::Epilogue epilogue) {
  kernels::Gemm g;
  g.a = a;
  g.lda = lda;
  g.packed = w.packed.data_ptr<float>();
  g.bias = bias.defined() ? bias.data_ptr<float>() : nullptr;
  g.c = out;
  g.ldc = ldc;
  g.m = m;
  g.n = w.n;
  g.k = w.k;
  g.epilogue = epilogue;
  steps.add(g.tasks(), [g](int64_t t) { g.run(t, t + 1); });
}

void layer_norm(Steps& steps, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,
                int64_t width, const at::Tensor& gamma, const at::Tensor& beta) {
  constexpr int64_t kRows = 8;
  const float* g = gamma.data_ptr<float>();
  const float* b = beta.data_ptr<float>();
  steps.add((rows + kRows - 1) / kRows, [=](int64_t t) {
    kernels::layer_norm_rows(x, ldx, y, ldy, g, b, width, kLayerNormEps, t * kRows,
                             std::min(rows, (t + 1) * kRows));
  });
}

}  // namespace

bool PackedVision::usable(const VisionTransformerImpl& vit) {
  const VisionGeometry& g = vit.geometry();
  const at::Tensor& w = vit.positional_embedding;
  return kernels::cpu_supported() && w.device().is_cpu() && w.scalar_type() == at::kFloat &&
         g.heads > 0 && g.width % g.heads == 0 && (g.width / g.heads) % 8 == 0;
}

PackedVision::PackedVision(const VisionTransformerImpl& vit)
    : image_size_(vit.geometry().image_size),
      patch_size_(vit.geometry().patch_size),
      width_(vit.geometry().width),
      heads_(vit.geometry().heads),
      embed_dim_(vit.geometry().embed_dim) {
  patch_embed_ = pack(vit.conv1->weight);
  proj_ = pack(vit.proj.detach().t());
  class_embedding_ = param(vit.class_embedding);
  positional_embedding_ = param(vit.positional_embedding);
  ln_pre_weight_ = param(vit.ln_pre->weight);
  ln_pre_bias_ = param(vit.ln_pre->bias);
  ln_post_weight_ = param(vit.ln_post->weight);
  ln_post_bias_ = param(vit.ln_post->bias);
  for (const auto& module : *vit.transformer->resblocks) {
    const auto& block = *module->as<ResidualBlockImpl>();
    Layer l;
    l.ln_1_weight = param(block.ln_1->weight);
    l.ln_1_bias = param(block.ln_1->bias);
    l.ln_2_weight = param(block.ln_2->weight);
    l.ln_2_bias = param(block.ln_2->bias);
    l.in_proj = pack(block.attn->in_proj_weight);
    l.in_proj_bias = param(block.attn->in_proj_bias);
    l.out_proj = pack(block.attn->out_proj->weight);
    l.out_proj_bias = param(block.attn->out_proj->bias);
    l.c_fc = pack(block.mlp->c_fc->weight);
    l.c_fc_bias = param(block.mlp->c_fc->bias);
    l.c_proj = pack(block.mlp->c_proj->weight);
    l.c_proj_bias = param(block.mlp->c_proj->bias);
    layers_.push_back(std::move(l));
  }
}

struct PackedVision::Workspace {
  int64_t images = 0, threads = 0;  // capacity
  at::Tensor patches, patch_embed, x, h, qkv, hidden, scratch;
};

at::Tensor PackedVision::forward(const at::Tensor& images) const {
  using kernels::Epilogue;
  const int64_t n = images.size(0), p = patch_size_, g = image_size_ / patch_size_;
  const int64_t w = width_, tokens = g * g, len = tokens + 1, rows = n * len;
  const at::TensorOptions options = images.options().dtype(at::kFloat);
  kernels::Attention attn;
  attn.batch = n;
  attn.len = len;
  attn.heads = heads_;
  attn.dim = w / heads_;
  const int64_t scratch_floats = attn.scratch_floats();
  const int64_t threads = at::get_num_threads();

  std::unique_lock<std::mutex> lock(workspace_mutex_, std::try_to_lock);
  std::shared_ptr<Workspace> ws = lock.owns_lock() ? workspace_ : nullptr;
  if (!ws || ws->images < n || ws->threads < threads) {
    ws = std::make_shared<Workspace>();
    const int64_t cap =
        std::max<int64_t>(n, lock.owns_lock() && workspace_ ? workspace_->images : 0);
    ws->images = cap;
    ws->threads = threads;
    ws->patches = at::empty({cap * tokens, 3 * p * p}, options);
    ws->patch_embed = at::empty({cap * tokens, w}, options);
    ws->x = at::empty({cap, len, w}, options);
    ws->h = at::empty({cap * len, w}, options);
    ws->qkv = at::empty({cap * len, 3 * w}, options);
    ws->hidden = at::empty({cap * len, 4 * w}, options);
    ws->scratch = at::empty({threads, scratch_floats}, options);
    if (lock.owns_lock()) workspace_ = ws;
  }
  // The stride-p convolution is one product over the image cut into patches (one row per patch,
  // (channel, y, x) order as conv1's weight).
  at::Tensor patches = ws->patches.narrow(0, 0, n * tokens);
  patches.view({n, g, g, 3, p, p})
      .copy_(images.reshape({n, 3, g, p, g, p}).permute({0, 2, 4, 1, 3, 5}));
  at::Tensor patch_embed = ws->patch_embed.narrow(0, 0, n * tokens);
  Steps embed;
  gemm(embed, patches.data_ptr<float>(), 3 * p * p, n * tokens, patch_embed_, at::Tensor(),
       patch_embed.data_ptr<float>(), w, Epilogue::kNone);
  embed.run();
  at::Tensor x = ws->x.narrow(0, 0, n);  // the residual stream
  x.narrow(1, 1, tokens)
      .copy_(patch_embed.view({n, tokens, w}).add_(positional_embedding_.narrow(0, 1, tokens)));
  x.select(1, 0).copy_((class_embedding_ + positional_embedding_[0]).expand({n, w}));
  float* xs = x.data_ptr<float>();
  Steps steps;
  layer_norm(steps, xs, w, xs, w, rows, w, ln_pre_weight_, ln_pre_bias_);

  const at::Tensor& h = ws->h;            // LayerNorm output, attention output
  const at::Tensor& qkv = ws->qkv;        // q, k, v projections
  const at::Tensor& hidden = ws->hidden;  // MLP activations
  const at::Tensor& scratch = ws->scratch;
  float* hs = h.data_ptr<float>();
  attn.qkv = qkv.data_ptr<float>();
  attn.out = hs;
  float* sp = scratch.data_ptr<float>();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    // Only the class token's row of the last layer's output is read (below). Its keys and
    // values still need every token, but its query, attention output, projection and MLP are
    // needed for that one row per image: about 6 % of ViT-B/32's products. Each row's arithmetic
    // is the same either way, so the result is too.
    const bool last = i + 1 == layers_.size();
    const int64_t out_rows = last ? n : rows;   // rows after attention
    const int64_t out_stride = last ? len : 1;  // in rows of x: the class tokens are len apart
    layer_norm(steps, xs, w, hs, w, rows, w, l.ln_1_weight, l.ln_1_bias);
    gemm(steps, hs, w, rows, l.in_proj, l.in_proj_bias, qkv.data_ptr<float>(), 3 * w,
         Epilogue::kBias);
    kernels::Attention layer_attn = attn;
    layer_attn.queries = last ? 1 : 0;
    steps.add(layer_attn.tasks(), [layer_attn, sp, scratch_floats](int64_t t) {
      layer_attn.run(t, sp + at::get_thread_num() * scratch_floats);
    });
    gemm(steps, hs, out_stride * w, out_rows, l.out_proj, l.out_proj_bias, xs, out_stride * w,
         Epilogue::kBiasResidual);
    layer_norm(steps, xs, out_stride * w, hs, w, out_rows, w, l.ln_2_weight, l.ln_2_bias);
    gemm(steps, hs, w, out_rows, l.c_fc, l.c_fc_bias, hidden.data_ptr<float>(), 4 * w,
         Epilogue::kBiasGelu);
    gemm(steps, hidden.data_ptr<float>(), 4 * w, out_rows, l.c_proj, l.c_proj_bias, xs,
         out_stride * w, Epilogue::kBiasResidual);
  }
  // Only the class token is read: LayerNorm on its row of each image, then the projection.
  at::Tensor cls = at::empty({n, w}, options);
  layer_norm(steps, xs, len * w, cls.data_ptr<float>(), w, n, w, ln_post_weight_, ln_post_bias_);
  at::Tensor out = at::empty({n, embed_dim_}, options);
  gemm(steps, cls.data_ptr<float>(), w, n, proj_, at::Tensor(), out.data_ptr<float>(), embed_dim_,
       Epilogue::kNone);
  steps.run();
  return out;
}

}  // namespace hesp::clip

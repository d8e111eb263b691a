// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP image and text encoders for inference, from an OpenAI CLIP checkpoint (.pt) with a ViT or
// a ResNet image tower. Torch-free interface; LibTorch stays inside the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hesp {

struct Clip;

enum class ClipPrecision {
  kFloat32,   // matches the reference within float rounding
  kBFloat16,  // CPU with AVX-512 BF16 only: weights and matrix products in bf16, fp32 elsewhere
};

struct ClipOptions {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N" (needs a CUDA build of LibTorch)
  // Intra-op threads for this encoder's calls; 0 keeps LibTorch's setting. OpenMP keeps the
  // thread count per calling thread, so it is applied on the calling thread at every call.
  int threads = 0;
  int max_batch = 32;  // images or texts per forward pass; longer inputs run in several
  ClipPrecision precision = ClipPrecision::kFloat32;
  // fp32 on CPU: run the linear layers through oneDNN when LibTorch has it (several times the
  // speed of the BLAS LibTorch otherwise uses, on AVX-512 machines). Off = plain at::linear.
  bool use_onednn = true;
  // fp32 on CPUs with AVX2 + FMA: run the ViT image tower through hesp's own kernels (weights
  // packed once at load, fused bias / QuickGELU / residual adds, fused attention). Off = the
  // layer-by-layer path above. The ResNet tower always runs on LibTorch's convolutions (oneDNN,
  // channels-last, with use_onednn).
  bool packed_kernels = true;
};

// OpenAI's two image towers: ViT-B/32, ViT-L/14 ... or the modified ResNets RN50, RN101,
// RN50x4 ... (three-convolution stem, anti-aliased bottlenecks, attention pooling).
enum class ClipImageTower { kViT, kResNet };

// Sizes read from the checkpoint.
struct ClipGeometry {
  ClipImageTower image_tower = ClipImageTower::kViT;
  int image_size = 0;  // input side in pixels
  int patch_size = 0;  // ViT only (0 for ResNet)
  // ViT: transformer width. ResNet: first stage's bottleneck width (64 for RN50).
  int vision_width = 0;
  int vision_layers = 0;                 // ViT: residual blocks. ResNet: bottlenecks in all stages
  int vision_heads = 0;                  // ViT: per block. ResNet: the attention pool's
  std::vector<int> vision_stage_blocks;  // ResNet only: bottlenecks per stage (3, 4, 6, 3 in RN50)
  int context_length = 0;                // text positions
  int vocab_size = 0;
  int text_width = 0;
  int text_layers = 0;
  int text_heads = 0;
  int embed_dim = 0;  // size of the joint embedding space
};

// A row-major [count, dim] matrix: one embedding per input, projected into the joint space and
// not normalised (call normalize() for cosine similarities).
struct Embeddings {
  int count = 0;
  int dim = 0;
  std::vector<float> values;

  const float* row(int i) const { return values.data() + static_cast<std::size_t>(i) * dim; }
  std::vector<float> row_vector(int i) const { return {row(i), row(i) + dim}; }
  // Scales every row to unit length; all-zero rows stay zero.
  void normalize();
};

// Cosine similarity of two embeddings of the same size.
float cosine_similarity(const float* a, const float* b, int dim);

class ClipEncoder {
 public:
  // Loads an OpenAI CLIP checkpoint, ViT or ResNet (the released TorchScript .pt files, a
  // torch.save'd state dict with the same tensor names, or a clip-zeroshot pack). Throws
  // FileNotFoundError, CorruptFileError (not a checkpoint, not CLIP, a tensor missing or of the
  // wrong shape: the message names it) or SettingsError (unsupported variant, device or precision).
  static std::unique_ptr<ClipEncoder> load(const std::string& checkpoint,
                                           const ClipOptions& options = {});
  ~ClipEncoder();
  ClipEncoder(const ClipEncoder&) = delete;
  ClipEncoder& operator=(const ClipEncoder&) = delete;

  const ClipGeometry& geometry() const;
  int input_size() const { return geometry().image_size; }
  int embed_dim() const { return geometry().embed_dim; }
  int context_length() const { return geometry().context_length; }
  // exp of the checkpoint's logit_scale: the factor CLIP puts on cosine similarities before the
  // softmax (100 for the released models).
  float logit_scale() const;
  const ClipOptions& options() const;

  // The encode_* calls are safe to make from several threads at once. They throw InputError for
  // inputs that do not fit the model.

  // Token id rows as Tokenizer::tokenize makes them (padded or not, at most context_length long).
  // Each row is read at its largest id, the end token.
  Embeddings encode_text(const std::vector<std::vector<int>>& tokens) const;

  // n images, already normalised, n x 3 x input_size x input_size floats (NCHW).
  Embeddings encode_images(const float* nchw, int n) const;

  // n square RGB crops of crop_size x crop_size x 3 bytes back to back (Clip::frames layout).
  // Crops of input_size go straight into the model's input; others are resized first.
  Embeddings encode_rgb_crops(const std::uint8_t* rgb, int n, int crop_size) const;

  // Every frame of several clips, batched across clips; rows follow the clips in order, each
  // clip's frames in order.
  Embeddings encode_clips(const std::vector<const Clip*>& clips) const;

  // Packed RGB images of any size through CLIP's full preprocessing (short side resized with
  // PIL's bicubic filter, centre crop, normalisation).
  struct RgbView {
    const std::uint8_t* pixels = nullptr;
    int width = 0;
    int height = 0;
    int stride = 0;  // bytes per row
  };
  Embeddings encode_rgb_images(const std::vector<RgbView>& images) const;

  struct Impl;

 private:
  explicit ClipEncoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hesp

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "inference_chain.h"

#include <algorithm>

#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "option_kinds.h"

namespace hesp::cli {

void add_inference_chain_options(CLI::App* cmd, InferenceChainOptions* opt) {
  cmd->add_option("--model", opt->model, "Model pack (default: the face-api expression pack)");
  cmd->add_option("--device", opt->device, "cpu, cuda or cuda:N");
  add_ranged(cmd, "--clip-length", opt->clip_length, "Frames per clip (0 = the model's)", 0, 256);
  add_ranged(cmd, "--clip-stride", opt->clip_stride, "Frames between clip starts (0 = half a clip)",
             0, 1024);
  add_ranged_default(cmd, "--first-clip-frames", opt->first_clip_frames,
                     "A new face's first result after this many frames, from a partial clip "
                     "(0 = wait for a full clip)",
                     0, 256);
  add_ranged(cmd, "--batch-size", opt->batch_size, "Clips per forward pass", 1, 256);
  add_ranged(cmd, "--threads", opt->threads, "Inference threads (0 = one per core)", 0, 256);
  cmd->add_option("--precision", opt->precision, "CLIP kernel: auto (the pack's), fp32 or bf16")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}));
  cmd->add_option("--pooling", opt->pooling,
                  "Frame pooling of packs that classify each frame: auto (the pack's), mean, "
                  "expressive, top-half, peak or sustained")
      ->check(CLI::IsMember({"auto", "mean", "expressive", "top-half", "peak", "sustained"}));
  add_ranged(cmd, "--smoothing", opt->smoothing, "Per-track smoothing of scores across clips", 0.0,
             0.99);
  cmd->add_option("--extra-classes", opt->extra_classes,
                  "Comma-separated class names to add at run time (CLIP zero-shot packs)");
  add_ranged(cmd, "--frame-subsample", opt->frame_subsample,
             "Look at every n-th frame of a track only, on the track's frame grid so that "
             "overlapping clips share them (packs that pool frames without order)",
             1, 256);
  cmd->add_option("--schedule", opt->schedule,
                  "Where the model runs: sync, async (frames never wait; late clips dropped) or "
                  "auto (async for live sources)")
      ->check(CLI::IsMember({"sync", "async", "auto"}));
  cmd->add_option("--align", opt->align,
                  "How face crops are placed: auto (the pack's input.alignment, else none), none "
                  "(the square around the face box), landmarks (face-api's landmark box) or eyes "
                  "(eyes level at fixed places); the last two run face-api's landmark net")
      ->check(CLI::IsMember({"auto", "none", "landmarks", "eyes"}));
  cmd->add_option("--landmark-net", opt->landmark_net,
                  "Landmark net of the aligned crops: tiny or full (face-api's two)")
      ->capture_default_str()
      ->check(CLI::IsMember({"tiny", "full"}));
  add_ranged_default(cmd, "--align-interval", opt->align_interval,
                     "Aligned crops: run the landmark net on every n-th sampled face of a track; "
                     "in between its landmarks follow the tracked box",
                     1, 1000);
}

std::string chain_model_path(const InferenceChainOptions& opt) {
  return opt.model.empty() ? cache_dir() + "/models/faceapi-expression.safetensors" : opt.model;
}

std::string inference_chain(const InferenceChainOptions& opt, const std::string& model,
                            const PackInput& in) {
  const unsigned clip_length = opt.clip_length ? opt.clip_length : in.frames_per_clip;
  const unsigned stride = opt.clip_stride ? opt.clip_stride : std::max(1u, clip_length / 2);
  // A pack with short clips needs no early clip longer than its clips.
  const unsigned first = std::min(opt.first_clip_frames, clip_length);
  return "hespclipbatch name=clips crop-size=" + std::to_string(in.size) +
         " margin=" + std::to_string(in.margin) +
         " align=" + (opt.align == "auto" ? in.alignment : opt.align) +
         " landmark-net=" + opt.landmark_net +
         " align-interval=" + std::to_string(opt.align_interval) +
         " clip-length=" + std::to_string(clip_length) + " clip-stride=" + std::to_string(stride) +
         " first-clip-frames=" + std::to_string(first) +
         // The model runs in a thread of its own, beside decoding and detection (the queue changes
         // no result: hespinfer still sees every frame in order).
         " ! queue max-size-buffers=64 max-size-bytes=0 max-size-time=0 ! hespinfer name=infer "
         "model=" +
         quote(model) + " device=" + opt.device + " batch-size=" + std::to_string(opt.batch_size) +
         " threads=" + std::to_string(opt.threads) + " smoothing=" + std::to_string(opt.smoothing) +
         (opt.extra_classes.empty() ? "" : " extra-classes=" + quote(opt.extra_classes)) +
         " frame-subsample=" + std::to_string(opt.frame_subsample) + " schedule=" + opt.schedule +
         (opt.precision == "auto" ? "" : " precision=" + opt.precision) +
         (opt.pooling == "auto" ? "" : " pooling=" + opt.pooling);
}

}  // namespace hesp::cli

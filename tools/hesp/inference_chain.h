// SPDX-License-Identifier: LGPL-2.1-or-later
// The recognition half of the pipelines the subcommands build (hespclipbatch ! queue ! hespinfer),
// with one set of options and defaults, so that `hesp run` and the benchmarks that judge it run
// the same chain.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "pack_input.h"

namespace hesp::cli {

struct InferenceChainOptions {
  std::string model;  // empty = the face-api expression pack in the cache folder
  std::string device = "cpu";
  unsigned clip_length = 0;  // 0 = the pack's frames per clip
  unsigned clip_stride = 0;  // 0 = clip length / 2
  // A new face's first result after this many frames, from a padded partial clip (marked by
  // clip_frames in the results) instead of after a full clip; 0 waits for a full clip.
  unsigned first_clip_frames = 1;
  unsigned batch_size = 1;
  unsigned threads = 0;
  std::string precision = "auto";
  std::string pooling = "auto";
  double smoothing = 0.5;
  std::string extra_classes;  // CLIP zero-shot packs: class names added at run time
  unsigned frame_subsample = 1;
  std::string schedule = "auto";
  std::string align = "auto";  // auto = the pack's input.alignment
  std::string landmark_net = "tiny";
  unsigned align_interval = 3;
};

// Declares --model, --device, --clip-length, --clip-stride, --first-clip-frames, --batch-size,
// --threads, --precision, --pooling, --smoothing, --extra-classes, --frame-subsample, --schedule,
// --align, --landmark-net, --align-interval.
void add_inference_chain_options(CLI::App* cmd, InferenceChainOptions* options);

// The model pack the options name (the default pack when none), checked to open.
std::string chain_model_path(const InferenceChainOptions& options);

// "hespclipbatch ... ! queue ... ! hespinfer name=infer ..." for the pack's input; throws
// SettingsError when first-clip-frames exceeds the clip length.
std::string inference_chain(const InferenceChainOptions& options, const std::string& model_path,
                            const PackInput& input);

}  // namespace hesp::cli

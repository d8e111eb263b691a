// SPDX-License-Identifier: LGPL-2.1-or-later
// Mini-batches of clips as float tensors for training and evaluation. Loading follows
// hesp::data::load_clip (segment sampling, clip-consistent augmentation), so a batch depends only
// on (seed, epoch, batch index), never on thread timing.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <future>
#include <vector>

#include "hesp/dataset.h"

namespace hesp::train {

struct ClipBatch {
  at::Tensor frames;       // [B, T, 3, S, S] float32 RGB in [0, 1] (not CLIP-normalised)
  at::Tensor labels;       // [B] int64: the items' labels
  std::vector<int> items;  // indices into the item list, in batch order
};

struct BatchOptions {
  int batch_size = 32;
  bool shuffle = false;    // a fresh permutation per epoch, drawn from (seed, epoch)
  bool drop_last = false;  // drop a last, smaller batch (training)
  int threads = 2;         // clips decoded in parallel
};

class ClipBatches {
 public:
  // `clip_options` says how each clip is sampled and augmented (its seed seeds the shuffling
  // too). Throws InputError for an empty item list or a batch size < 1.
  ClipBatches(std::vector<data::AnnotationItem> items, data::ClipLoaderOptions clip_options,
              BatchOptions options);

  int64_t batches_per_epoch() const;
  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  const std::vector<data::AnnotationItem>& items() const { return items_; }
  const data::ClipLoaderOptions& clip_options() const { return clip_options_; }

  // Batch `index` (0-based, < batches_per_epoch()) of epoch `epoch`. Throws what load_clip
  // throws, with the item's file and line.
  ClipBatch batch(std::uint64_t epoch, int64_t index) const;

 private:
  std::vector<int> order(std::uint64_t epoch) const;

  std::vector<data::AnnotationItem> items_;
  data::ClipLoaderOptions clip_options_;
  BatchOptions options_;
};

// The batches of one epoch in order, each decoded on another thread while the caller trains on
// the one before. A batch depends only on (epoch, index), so this changes nothing but wall time.
class PrefetchedEpoch {
 public:
  // Starts decoding batch 0. `batches` must outlive this object.
  PrefetchedEpoch(const ClipBatches& batches, std::uint64_t epoch);

  // The next batch (0, 1, ...; at most batches_per_epoch() calls); starts decoding the one after.
  // Throws what ClipBatches::batch throws.
  ClipBatch next();

 private:
  std::future<ClipBatch> fetch(int64_t index) const;

  const ClipBatches& batches_;
  std::uint64_t epoch_;
  int64_t index_ = 0;
  std::future<ClipBatch> pending_;
};

}  // namespace hesp::train

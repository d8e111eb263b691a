// SPDX-License-Identifier: LGPL-2.1-or-later
#include "train/clip_batches.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

#include "hesp/error.h"

namespace hesp::train {

ClipBatches::ClipBatches(std::vector<data::AnnotationItem> items,
                         data::ClipLoaderOptions clip_options, BatchOptions options)
    : items_(std::move(items)), clip_options_(std::move(clip_options)), options_(options) {
  if (items_.empty()) throw InputError("no clips to make batches from");
  if (options_.batch_size < 1)
    throw InputError("batch size must be at least 1, not " + std::to_string(options_.batch_size));
  if (options_.threads < 1) options_.threads = 1;
}

int64_t ClipBatches::batches_per_epoch() const {
  const int64_t n = size();
  const int64_t b = options_.batch_size;
  if (options_.drop_last && n >= b) return n / b;
  return (n + b - 1) / b;
}

std::vector<int> ClipBatches::order(std::uint64_t epoch) const {
  std::vector<int> order(items_.size());
  std::iota(order.begin(), order.end(), 0);
  if (!options_.shuffle) return order;
  // Fisher-Yates on the generator's raw output, so every standard library gives the same order.
  std::seed_seq seq{static_cast<std::uint32_t>(clip_options_.seed),
                    static_cast<std::uint32_t>(clip_options_.seed >> 32),
                    static_cast<std::uint32_t>(epoch), 0x5eedu};
  std::mt19937_64 rng(seq);
  for (std::size_t i = order.size(); i > 1; --i) {
    const std::size_t j = rng() % i;
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

ClipBatch ClipBatches::batch(std::uint64_t epoch, int64_t index) const {
  if (index < 0 || index >= batches_per_epoch())
    throw InputError("batch " + std::to_string(index) + " is out of range (" +
                     std::to_string(batches_per_epoch()) + " per epoch)");
  const std::vector<int> all = order(epoch);
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, size());
  ClipBatch out;
  out.items.assign(all.begin() + begin, all.begin() + end);
  const int64_t n = end - begin;
  const int64_t t = clip_options_.num_segments;
  const int64_t s = clip_options_.augment.size;

  // Decoded straight into the batch's uint8 storage; conversion to float happens once at the end.
  at::Tensor bytes = at::empty({n, t, s, s, 3}, at::kByte);
  std::vector<int64_t> labels(n);
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    for (int64_t i = next++; i < n; i = next++) {
      try {
        const int item = out.items[i];
        // The item's own position seeds its sampling, so a clip is the same in any batch order.
        const data::ClipSample clip =
            data::load_clip(items_[item], clip_options_, epoch, static_cast<std::uint64_t>(item));
        if (clip.n_frames != t || clip.size != s)
          throw InputError("clip loader returned " + std::to_string(clip.n_frames) + " frames of " +
                           std::to_string(clip.size) + " px, expected " + std::to_string(t) +
                           " of " + std::to_string(s));
        std::memcpy(bytes[i].data_ptr<std::uint8_t>(), clip.frames.data(), clip.frames.size());
        labels[i] = items_[item].label;
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = n;
      }
    }
  };
  const int workers = static_cast<int>(std::min<int64_t>(options_.threads, n));
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);

  out.frames = bytes.permute({0, 1, 4, 2, 3}).to(at::kFloat).div_(255.0).contiguous();
  out.labels = at::tensor(labels, at::kLong);
  return out;
}

PrefetchedEpoch::PrefetchedEpoch(const ClipBatches& batches, std::uint64_t epoch)
    : batches_(batches), epoch_(epoch), pending_(fetch(0)) {}

std::future<ClipBatch> PrefetchedEpoch::fetch(int64_t index) const {
  return std::async(std::launch::async, [&batches = batches_, epoch = epoch_, index] {
    return batches.batch(epoch, index);
  });
}

ClipBatch PrefetchedEpoch::next() {
  ClipBatch batch = pending_.get();
  if (++index_ < batches_.batches_per_epoch()) pending_ = fetch(index_);
  return batch;
}

}  // namespace hesp::train

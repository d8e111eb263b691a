// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/frame_cache.h"

namespace hesp::models {

const std::vector<float>* FrameCache::find(std::uint64_t track, std::uint64_t key) const {
  const auto it = rows_.find({track, key});
  return it == rows_.end() ? nullptr : &it->second;
}

void FrameCache::insert(std::uint64_t track, std::uint64_t key, std::vector<float> row) {
  if (max_frames_ == 0) return;
  const Key k{track, key};
  const auto [it, added] = rows_.insert_or_assign(k, std::move(row));
  (void)it;
  if (added) order_.push_back(k);
  while (rows_.size() > max_frames_) {
    rows_.erase(order_.front());
    order_.pop_front();
  }
}

void FrameCache::clear() {
  rows_.clear();
  order_.clear();
}

}  // namespace hesp::models

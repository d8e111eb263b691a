// SPDX-License-Identifier: LGPL-2.1-or-later
// Per-frame results kept between classify() calls. Clips of a track overlap (8-frame clips every
// 4 frames share half their frames), so without it every frame of a CLIP-class pack goes through
// the image tower twice. Keyed by (track, frame key), where the key is what the caller says
// identifies a frame within its track (hespinfer uses the PTS). Bounded: the oldest entries go
// first, which is right for clips that only ever look a few frames back.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

namespace hesp::models {

class FrameCache {
 public:
  explicit FrameCache(std::size_t max_frames) : max_frames_(max_frames) {}

  // The cached row of the frame, or nullptr.
  const std::vector<float>* find(std::uint64_t track, std::uint64_t key) const;
  // Keeps a copy of the row (replacing an older one of the same frame), then forgets the oldest
  // frames beyond the limit.
  void insert(std::uint64_t track, std::uint64_t key, std::vector<float> row);
  void clear();
  std::size_t size() const { return rows_.size(); }

 private:
  using Key = std::pair<std::uint64_t, std::uint64_t>;
  std::size_t max_frames_;
  std::map<Key, std::vector<float>> rows_;
  std::deque<Key> order_;  // insertion order, for forgetting
};

}  // namespace hesp::models

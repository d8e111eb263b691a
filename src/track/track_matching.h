// SPDX-License-Identifier: LGPL-2.1-or-later
// Association of detections to tracks, shared by the tracker kinds (internal to the core).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "hesp/tracker.h"

namespace hesp::track {

// Cosine similarity of two embeddings; 1 when either is empty or their sizes differ, so a missing
// embedding never vetoes a match.
float cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

// Matches the candidate tracks to the candidate detections greedily by descending IoU (optimal
// enough for faces, which rarely overlap). A pair needs IoU >= iou_threshold (and > 0) and, when
// min_similarity > 0, embeddings at least that similar. Returns (track index, detection index)
// pairs, indices into `tracks` and `detections`.
std::vector<std::pair<size_t, size_t>> greedy_match(const std::vector<Track>& tracks,
                                                    const std::vector<size_t>& track_candidates,
                                                    const std::vector<Detection>& detections,
                                                    const std::vector<size_t>& detection_candidates,
                                                    float iou_threshold, float min_similarity);

// Blends a matched detection's embedding into the track's (running mean, renormalised).
void blend_embedding(std::vector<float>& track, const std::vector<float>& detection,
                     float momentum);

}  // namespace hesp::track

// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs a stretch of LibTorch code on fewer intra-op threads than the process default, for the
// calling thread only.
//
// Why: the nets that run once per face (face-api's landmark and recognition nets) do a few
// milliseconds of work split over dozens of small operators. Spreading each operator over two
// OpenMP threads buys little on a quiet machine, and when the cores are busy (other pipeline
// stages, other processes) every operator ends in a barrier where one thread spins and yields
// until the other is scheduled again: measured 660 ms instead of 16 ms per face for the landmark
// net on the 2-core development machine under load (docs/face-landmarks.md). Inside a pipeline the
// other stages keep the second core busy anyway.
#pragma once

namespace hesp::torch_util {

class IntraOpThreadsScope {
 public:
  // Limits the calling thread's OpenMP regions to `threads` (>= 1) until destruction; other
  // threads and LibTorch's process-wide setting are untouched.
  explicit IntraOpThreadsScope(int threads);
  ~IntraOpThreadsScope();
  IntraOpThreadsScope(const IntraOpThreadsScope&) = delete;
  IntraOpThreadsScope& operator=(const IntraOpThreadsScope&) = delete;

 private:
  int saved_;
};

}  // namespace hesp::torch_util

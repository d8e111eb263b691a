// SPDX-License-Identifier: LGPL-2.1-or-later
// hespinfer's asynchronous mode: the model runs on a thread of its own, fed by a bounded queue of
// clips, so the streaming thread never waits for it. When the model is slower than the clips
// arrive, the queue fills; then a new clip replaces the oldest waiting clip of its own track
// (that result would be stale by the time it ran) or, when its track has none waiting, the oldest
// waiting clip of any track. Every clip taken in or dropped is counted, with the reason.
//
// The worker takes the newest waiting clip of every track in one classify() call (batching across
// tracks; older clips of a track that has a newer one waiting are dropped as superseded), since in
// this mode waiting for a batch to fill would only add latency. Results are kept until the
// streaming thread collects them (take_results) and stamps them on the next frames.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hesp/expression_model.h"
#include "infer/clip_job.h"

namespace hesp::gst {

struct WorkerCounters {
  std::uint64_t queued = 0;              // clips submitted
  std::uint64_t run = 0;                 // clips the model ran and whose result was kept
  std::uint64_t dropped_superseded = 0;  // replaced by a newer clip of the same track
  std::uint64_t dropped_queue_full = 0;  // oldest clip of another track, queue full
  std::uint64_t dropped_flush = 0;       // waiting or running at a flush or stop
  std::uint64_t runs = 0;                // classify() calls
  double last_run_seconds = 0.0;         // duration of the latest classify() call
  std::uint64_t dropped() const { return dropped_superseded + dropped_queue_full + dropped_flush; }
};

class InferenceWorker {
 public:
  // Starts the thread. capacity >= 1: clips waiting at most. nice: added to the thread's
  // scheduling niceness (Linux: per thread, inherited by the threads it starts, such as
  // LibTorch's OpenMP team), so that video threads win the CPU when both want it.
  InferenceWorker(std::shared_ptr<ExpressionModel> model, double threshold, std::size_t capacity,
                  int nice);
  // Stops the thread: waiting clips are dropped, the clip in progress finishes first.
  ~InferenceWorker();
  InferenceWorker(const InferenceWorker&) = delete;
  InferenceWorker& operator=(const InferenceWorker&) = delete;

  // Queues a clip (dropping one as described above when full). Never waits for the model.
  void submit(ClipJob job);
  // Results finished since the last call, in the order their clips were submitted.
  std::vector<ClipOutcome> take_results();
  // Drops waiting clips, finished results not yet taken and the result of the clip in progress,
  // and clears the model's frame cache before its next run (frame keys may repeat after a seek).
  void flush();
  // Waits until every waiting clip has run (or the model failed). For end-of-stream.
  void drain();
  // Empty until a classify() call throws; then its message, and the worker runs nothing more.
  std::string failure() const;
  WorkerCounters counters() const;

 private:
  void run(int nice);

  std::shared_ptr<ExpressionModel> model_;
  const double threshold_;
  const std::size_t capacity_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // work arrived or stop
  std::condition_variable idle_;  // a run finished
  std::deque<ClipJob> waiting_;
  std::vector<ClipOutcome> finished_;
  WorkerCounters counters_;
  std::uint64_t generation_ = 0;  // bumped by flush(); results of older runs are dropped
  bool busy_ = false;
  bool clear_cache_ = false;
  bool stop_ = false;
  std::string failure_;
  std::thread thread_;
};

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
// hespinfer's asynchronous mode: the model runs on a thread of its own, fed by a bounded queue of
// clips, so the streaming thread never waits for it. One worker serves every element of a model
// instance (one element, or every element sharing a model-instance-id); each element talks to it
// through a WorkerClient of its own, which has its own bound, results and counters, so that one
// stream's clips, flushes and end of stream never drop, deliver or wait for another's.
//
// When the model is slower than the clips arrive, a client's part of the queue fills; then a new
// clip replaces the oldest waiting clip of its own track (that result would be stale by the time
// it ran) or, when its track has none waiting, the oldest waiting clip of the same client. Every
// clip taken in or dropped is counted, with the reason, on the client it came from.
//
// The worker takes the newest waiting clip of every track of every client in one classify() call
// per unknown threshold (batching across tracks and streams; older clips of a track that has a
// newer one waiting are dropped as superseded), since in this mode waiting for a batch to fill
// would only add latency. Results are kept until the client's streaming thread collects them
// (take_results) and stamps them on the next frames.
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

class ModelInstance;

struct WorkerCounters {
  std::uint64_t queued = 0;              // clips submitted
  std::uint64_t run = 0;                 // clips the model ran and whose result was kept
  std::uint64_t dropped_superseded = 0;  // replaced by a newer clip of the same track
  std::uint64_t dropped_queue_full = 0;  // oldest clip of another track, queue full
  std::uint64_t dropped_flush = 0;       // waiting or running at a flush or stop
  std::uint64_t runs = 0;                // classify() calls that ran clips of this client
  double last_run_seconds = 0.0;         // duration of the latest of those calls
  std::uint64_t dropped() const { return dropped_superseded + dropped_queue_full + dropped_flush; }
};

class InferenceWorker {
 public:
  struct Client;

  // Starts the thread. nice: added to the thread's scheduling niceness (Linux: per thread,
  // inherited by the threads it starts, such as LibTorch's OpenMP team), so that video threads
  // win the CPU when both want it.
  InferenceWorker(std::shared_ptr<ModelInstance> instance, int nice);
  // Stops the thread: waiting clips are dropped, the clips in progress finish first.
  ~InferenceWorker();
  InferenceWorker(const InferenceWorker&) = delete;
  InferenceWorker& operator=(const InferenceWorker&) = delete;

  std::shared_ptr<Client> attach(double threshold, std::size_t capacity);
  // Drops the client's waiting clips; its clips in progress finish, their results are discarded.
  void detach(const std::shared_ptr<Client>& client);
  void submit(const std::shared_ptr<Client>& client, ClipJob job);
  std::vector<ClipOutcome> take_results(Client& client);
  void flush(Client& client);
  void drain(Client& client);
  std::string failure() const;
  WorkerCounters counters(const Client& client) const;

 private:
  struct Waiting;
  void run(int nice);

  std::shared_ptr<ModelInstance> instance_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // work arrived or stop
  std::condition_variable idle_;  // a run finished
  std::deque<Waiting> waiting_;
  bool clear_cache_ = false;
  bool stop_ = false;
  std::string failure_;
  std::thread thread_;
};

// One element's handle on its instance's worker; the element's whole async interface.
class WorkerClient {
 public:
  // capacity >= 1: this client's clips waiting at most. threshold: its unknown threshold.
  WorkerClient(std::shared_ptr<InferenceWorker> worker, double threshold, std::size_t capacity);
  // Detaches: this client's waiting clips are dropped; never waits for other clients' work.
  ~WorkerClient();
  WorkerClient(const WorkerClient&) = delete;
  WorkerClient& operator=(const WorkerClient&) = delete;

  // Queues a clip (dropping one of this client's as described above when full). Never waits
  // for the model.
  void submit(ClipJob job) { worker_->submit(client_, std::move(job)); }
  // Results finished since the last call, in the order their clips were submitted.
  std::vector<ClipOutcome> take_results() { return worker_->take_results(*client_); }
  // Drops this client's waiting clips, finished results not yet taken and results of its clips
  // in progress, and clears the model's frame cache before the next run (frame keys may repeat
  // after a seek; other streams only recompute their frames).
  void flush() { worker_->flush(*client_); }
  // Waits until every waiting clip of this client has run (or the model failed). For
  // end-of-stream; other clients' clips are not waited for.
  void drain() { worker_->drain(*client_); }
  // Empty until a classify() call throws; then its message, and the worker runs nothing more.
  std::string failure() const { return worker_->failure(); }
  WorkerCounters counters() const { return worker_->counters(*client_); }

 private:
  std::shared_ptr<InferenceWorker> worker_;
  std::shared_ptr<InferenceWorker::Client> client_;
};

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "infer/inference_worker.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include "infer/shared_model_registry.h"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace hesp::gst {

// Per-client state; written under the worker's lock only. Clips hold their client by a shared
// reference, so a client that detaches while its clips run is not written to after it is gone.
struct InferenceWorker::Client {
  double threshold = 0.0;
  std::size_t capacity = 1;
  std::size_t waiting = 0;       // clips of this client in waiting_
  std::size_t in_flight = 0;     // clips of this client in the run in progress
  std::uint64_t generation = 0;  // bumped by flush(); results of older runs are dropped
  bool detached = false;
  std::vector<ClipOutcome> finished;
  WorkerCounters counters;
};

struct InferenceWorker::Waiting {
  std::shared_ptr<Client> client;
  ClipJob job;
};

InferenceWorker::InferenceWorker(std::shared_ptr<ModelInstance> instance, int nice)
    : instance_(std::move(instance)) {
  thread_ = std::thread([this, nice] { run(nice); });
}

InferenceWorker::~InferenceWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    for (Waiting& w : waiting_) ++w.client->counters.dropped_flush;
    waiting_.clear();
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<InferenceWorker::Client> InferenceWorker::attach(double threshold,
                                                                 std::size_t capacity) {
  auto client = std::make_shared<Client>();
  client->threshold = threshold;
  client->capacity = std::max<std::size_t>(1, capacity);
  return client;
}

void InferenceWorker::detach(const std::shared_ptr<Client>& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  client->detached = true;
  client->counters.dropped_flush += client->waiting;
  client->waiting = 0;
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [&](const Waiting& w) { return w.client == client; }),
                 waiting_.end());
  idle_.notify_all();
}

void InferenceWorker::submit(const std::shared_ptr<Client>& shared_client, ClipJob job) {
  Client& client = *shared_client;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++client.counters.queued;
    if (!failure_.empty() || stop_ || client.detached) {
      ++client.counters.dropped_flush;
      return;
    }
    if (client.waiting >= client.capacity) {
      const auto same_track = std::find_if(waiting_.begin(), waiting_.end(), [&](const Waiting& w) {
        return w.client.get() == &client && w.job.track_id == job.track_id;
      });
      if (same_track != waiting_.end()) {
        waiting_.erase(same_track);
        ++client.counters.dropped_superseded;
      } else {
        waiting_.erase(std::find_if(waiting_.begin(), waiting_.end(),
                                    [&](const Waiting& w) { return w.client.get() == &client; }));
        ++client.counters.dropped_queue_full;
      }
      --client.waiting;
    }
    waiting_.push_back(Waiting{shared_client, std::move(job)});
    ++client.waiting;
  }
  wake_.notify_one();
}

std::vector<ClipOutcome> InferenceWorker::take_results(Client& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ClipOutcome> out;
  out.swap(client.finished);
  return out;
}

void InferenceWorker::flush(Client& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  client.counters.dropped_flush += client.waiting;
  client.waiting = 0;
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [&](const Waiting& w) { return w.client.get() == &client; }),
                 waiting_.end());
  client.finished.clear();
  ++client.generation;
  clear_cache_ = true;
}

void InferenceWorker::drain(Client& client) {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] {
    return (client.waiting == 0 && client.in_flight == 0) || !failure_.empty() || stop_;
  });
}

std::string InferenceWorker::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

WorkerCounters InferenceWorker::counters(const Client& client) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return client.counters;
}

void InferenceWorker::run(int nice) {
#ifdef __linux__
  // Linux keeps a niceness per thread; setpriority on the thread id changes only this one.
  if (nice != 0) {
    const auto tid = static_cast<id_t>(syscall(SYS_gettid));
    setpriority(PRIO_PROCESS, tid, getpriority(PRIO_PROCESS, tid) + nice);
  }
#else
  (void)nice;
#endif
  struct Taken {
    std::shared_ptr<Client> client;
    ClipJob job;
    std::uint64_t generation = 0;
  };
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !waiting_.empty(); });
    if (stop_) break;
    // The newest waiting clip of each track of each client, in submission order: an older clip
    // of a track that has a newer one waiting would only give a result that is stale on arrival.
    std::vector<Taken> batch;
    for (auto it = waiting_.rbegin(); it != waiting_.rend(); ++it) {
      const bool newer_taken = std::any_of(batch.begin(), batch.end(), [&](const Taken& b) {
        return b.client == it->client && b.job.track_id == it->job.track_id;
      });
      if (newer_taken) {
        ++it->client->counters.dropped_superseded;
      } else {
        ++it->client->in_flight;
        batch.push_back(Taken{it->client, std::move(it->job), it->client->generation});
      }
      --it->client->waiting;
    }
    std::reverse(batch.begin(), batch.end());
    waiting_.clear();
    const bool clear_cache = clear_cache_;
    clear_cache_ = false;
    lock.unlock();

    // One classify() call per unknown threshold (elements sharing a model may set their own);
    // with one element, or equal thresholds, that is one call for the whole batch.
    std::vector<ExpressionResult> results(batch.size());
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    try {
      auto run_lock = instance_->run_lock();
      if (clear_cache) instance_->model().clear_frame_cache();
      std::vector<bool> done(batch.size(), false);
      for (std::size_t first = 0; first < batch.size(); ++first) {
        if (done[first]) continue;
        const double threshold = batch[first].client->threshold;
        std::vector<std::size_t> members;
        std::vector<ClipView> views;
        for (std::size_t i = first; i < batch.size(); ++i) {
          if (done[i] || batch[i].client->threshold != threshold) continue;
          done[i] = true;
          members.push_back(i);
          views.push_back(batch[i].job.view());
        }
        auto part = instance_->model().classify(views, threshold);
        for (std::size_t k = 0; k < members.size(); ++k) results[members[k]] = std::move(part[k]);
      }
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    lock.lock();
    std::vector<Client*> counted;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Client& client = *batch[i].client;
      --client.in_flight;
      if (std::find(counted.begin(), counted.end(), &client) == counted.end()) {
        counted.push_back(&client);
        ++client.counters.runs;
        client.counters.last_run_seconds = seconds;
      }
      if (!error.empty() || client.detached || batch[i].generation != client.generation) {
        ++client.counters.dropped_flush;
      } else {
        const ClipJob& job = batch[i].job;
        client.finished.push_back(ClipOutcome{job.track_id, job.clip_start(), job.clip_end(),
                                              job.n_real_frames, std::move(results[i])});
        ++client.counters.run;
      }
    }
    if (!error.empty()) {
      failure_ = error;
      for (Waiting& w : waiting_) {
        ++w.client->counters.dropped_flush;
        --w.client->waiting;
      }
      waiting_.clear();
    }
    idle_.notify_all();
    if (!failure_.empty()) {
      // Nothing more runs; submit() drops from now on. Wait for the stop.
      wake_.wait(lock, [&] { return stop_; });
      break;
    }
  }
}

WorkerClient::WorkerClient(std::shared_ptr<InferenceWorker> worker, double threshold,
                           std::size_t capacity)
    : worker_(std::move(worker)), client_(worker_->attach(threshold, capacity)) {}

WorkerClient::~WorkerClient() { worker_->detach(client_); }

}  // namespace hesp::gst

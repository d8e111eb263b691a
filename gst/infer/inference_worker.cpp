// SPDX-License-Identifier: LGPL-2.1-or-later
#include "infer/inference_worker.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace hesp::gst {

InferenceWorker::InferenceWorker(std::shared_ptr<ExpressionModel> model, double threshold,
                                 std::size_t capacity, int nice)
    : model_(std::move(model)),
      threshold_(threshold),
      capacity_(std::max<std::size_t>(1, capacity)) {
  thread_ = std::thread([this, nice] { run(nice); });
}

InferenceWorker::~InferenceWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    counters_.dropped_flush += waiting_.size();
    waiting_.clear();
  }
  wake_.notify_all();
  thread_.join();
}

void InferenceWorker::submit(ClipJob job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counters_.queued;
    if (!failure_.empty() || stop_) {
      ++counters_.dropped_flush;
      return;
    }
    if (waiting_.size() >= capacity_) {
      const auto same_track = std::find_if(waiting_.begin(), waiting_.end(), [&](const ClipJob& w) {
        return w.track_id == job.track_id;
      });
      if (same_track != waiting_.end()) {
        waiting_.erase(same_track);
        ++counters_.dropped_superseded;
      } else {
        waiting_.pop_front();
        ++counters_.dropped_queue_full;
      }
    }
    waiting_.push_back(std::move(job));
  }
  wake_.notify_one();
}

std::vector<ClipOutcome> InferenceWorker::take_results() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ClipOutcome> out;
  out.swap(finished_);
  return out;
}

void InferenceWorker::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  counters_.dropped_flush += waiting_.size();
  waiting_.clear();
  finished_.clear();
  ++generation_;
  clear_cache_ = true;
}

void InferenceWorker::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return (waiting_.empty() && !busy_) || !failure_.empty() || stop_; });
}

std::string InferenceWorker::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

WorkerCounters InferenceWorker::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
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
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !waiting_.empty(); });
    if (stop_) break;
    // The newest waiting clip of each track, in submission order: an older clip of a track
    // that has a newer one waiting would only give a result that is stale on arrival.
    std::vector<ClipJob> batch;
    for (auto it = waiting_.rbegin(); it != waiting_.rend(); ++it) {
      const bool newer_taken = std::any_of(
          batch.begin(), batch.end(), [&](const ClipJob& b) { return b.track_id == it->track_id; });
      if (newer_taken)
        ++counters_.dropped_superseded;
      else
        batch.push_back(std::move(*it));
    }
    std::reverse(batch.begin(), batch.end());
    waiting_.clear();
    const std::uint64_t generation = generation_;
    const bool clear_cache = clear_cache_;
    clear_cache_ = false;
    busy_ = true;
    lock.unlock();

    std::vector<ExpressionResult> results;
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    try {
      if (clear_cache) model_->clear_frame_cache();
      std::vector<ClipView> views;
      views.reserve(batch.size());
      for (const ClipJob& job : batch) views.push_back(job.view());
      results = model_->classify(views, threshold_);
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    lock.lock();
    busy_ = false;
    ++counters_.runs;
    counters_.last_run_seconds = seconds;
    if (!error.empty()) {
      failure_ = error;
      counters_.dropped_flush += batch.size() + waiting_.size();
      waiting_.clear();
    } else if (generation != generation_) {
      counters_.dropped_flush += batch.size();
    } else {
      for (std::size_t i = 0; i < batch.size(); ++i)
        finished_.push_back(ClipOutcome{batch[i].track_id, batch[i].clip_start(),
                                        batch[i].clip_end(), batch[i].n_real_frames,
                                        std::move(results[i])});
      counters_.run += batch.size();
    }
    idle_.notify_all();
    if (!failure_.empty()) {
      // Nothing more runs; submit() drops from now on. Wait for the stop.
      wake_.wait(lock, [&] { return stop_; });
      break;
    }
  }
}

}  // namespace hesp::gst

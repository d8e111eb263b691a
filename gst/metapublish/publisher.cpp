// SPDX-License-Identifier: LGPL-2.1-or-later
#include "metapublish/publisher.h"

#include <algorithm>
#include <utility>

namespace hesp::publish {

namespace {
// Reconnection back-off: quick at first (a broker restart takes about a second), capped so a
// broker that comes back is found within two seconds.
constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kMaxRetry{2000};
// How long the worker sleeps on an empty queue before polling the connection.
constexpr std::chrono::milliseconds kPollInterval{200};
}  // namespace

Publisher::Publisher(std::unique_ptr<Transport> transport, std::size_t max_queue,
                     PublisherEvents events, std::unique_ptr<Spool> spool)
    : transport_(std::move(transport)),
      max_queue_(max_queue),
      events_(std::move(events)),
      spool_(std::move(spool)) {}

std::uint64_t Publisher::pending() const { return queue_.size() + (spool_ ? spool_->count() : 0); }

Publisher::~Publisher() { stop(); }

void Publisher::start(bool fail_if_unreachable) {
  bool outage = false;
  try {
    transport_->connect();
  } catch (const UnreachableError& e) {
    if (fail_if_unreachable) throw;
    outage = true;
    if (events_.unreachable) events_.unreachable(e.what());
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.connected = !outage;
    stopping_ = false;
    worker_done_ = false;
    failed_ = false;
  }
  cancel_ = false;
  worker_ = std::thread([this, outage] {
    bool lost = outage;
    try {
      std::chrono::milliseconds retry = kFirstRetry;
      while (true) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (stopping_) break;
        }
        if (lost) {
          try {
            transport_->connect();
          } catch (const UnreachableError&) {
            wait_for(retry);
            retry = std::min(retry * 2, kMaxRetry);
            continue;
          }
          lost = false;
          retry = kFirstRetry;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            stats_.connected = true;
            ++stats_.reconnects;
          }
          if (events_.reconnected) events_.reconnected();
        }
        std::string message;
        bool have_message = false;
        {
          std::unique_lock<std::mutex> lock(mutex_);
          wake_.wait_for(lock, kPollInterval, [&] { return stopping_ || !queue_.empty(); });
          if (stopping_) break;
          if (queue_.empty()) {
            lock.unlock();
            lost = !transport_->poll();
          } else {
            // A copy: push() may add to the deque meanwhile, the head stays until delivered.
            message = queue_.front();
            have_message = true;
          }
        }
        if (!lost && have_message) {
          lost = transport_->send(message, cancel_) != Transport::Sent::kDelivered;
          if (!lost) {
            std::lock_guard<std::mutex> lock(mutex_);
            queue_.pop_front();
            ++stats_.published;
            // The spool is read back in the order it was written, behind what is in memory.
            std::string next;
            while (spool_ && queue_.size() < max_queue_ && spool_->take(&next))
              queue_.push_back(std::move(next));
            if (pending() < max_queue_) overflowing_ = false;
            drained_.notify_all();
          }
        }
        if (lost) {
          bool report = false;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            report = stats_.connected && !stopping_;
            stats_.connected = false;
          }
          if (report && events_.unreachable)
            events_.unreachable("connection to " + transport_->describe() + " lost");
        }
      }
    } catch (...) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.connected = false;
        failed_ = true;
      }
      if (events_.failed) events_.failed(std::current_exception());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    worker_done_ = true;
    drained_.notify_all();
  });
}

void Publisher::wait_for(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, delay, [&] { return stopping_; });
}

bool Publisher::push(std::string message) {
  bool first_drop = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool kept = false;
    if (spool_ && (!spool_->empty() || queue_.size() >= max_queue_)) {
      try {
        kept = spool_->append(message);
      } catch (const FatalError&) {
        kept = false;  // a spool that cannot be written is a full one: the drop is counted
      }
    } else if (queue_.size() < max_queue_) {
      queue_.push_back(std::move(message));
      kept = true;
    }
    if (kept) {
      wake_.notify_one();
      return true;
    }
    ++stats_.dropped;
    first_drop = !overflowing_;
    overflowing_ = true;
  }
  if (first_drop && events_.overflow) events_.overflow(max_queue_);
  return false;
}

std::size_t Publisher::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  // The memory queue is refilled from the spool as it drains, so empty memory means empty spool.
  drained_.wait_for(lock, timeout, [&] { return queue_.empty() || worker_done_; });
  return pending();
}

void Publisher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cancel_ = true;
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.undelivered += pending();
  queue_.clear();
  if (spool_) {
    try {
      spool_->clear();
    } catch (const FatalError&) {
      // The file goes with the spool anyway.
    }
  }
  stats_.connected = false;
}

bool Publisher::failed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_;
}

PublishStats Publisher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PublishStats s = stats_;
  s.queued = pending();
  s.spooled = spool_ ? spool_->count() : 0;
  return s;
}

}  // namespace hesp::publish

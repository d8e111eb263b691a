// SPDX-License-Identifier: LGPL-2.1-or-later
// The delivery side of hespmetapublish, independent of GStreamer and of the method: a bounded
// in-memory queue in front of one Transport, emptied in order by one worker thread.
//
// Why one message at a time: the worker sends the oldest message and removes it from the queue
// only once the transport says the destination has it. A lost connection leaves it at the head,
// so after reconnecting it is sent again before anything newer: order is kept across outages and
// nothing acknowledged is sent twice, at the price of one round trip per message (well under a
// millisecond on a LAN, far below a video's frame interval). A message whose acknowledgement was
// lost with the connection may arrive twice (at-least-once); each carries its frame's timestamp,
// so a subscriber can drop the repeat.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "metapublish/spool.h"
#include "metapublish/transport.h"

namespace hesp::publish {

struct PublishStats {
  std::uint64_t published = 0;    // acknowledged by the destination
  std::uint64_t dropped = 0;      // refused because the queue was full
  std::uint64_t undelivered = 0;  // still queued when the publisher stopped
  std::uint64_t reconnects = 0;   // connections re-established after a loss
  std::uint64_t queued = 0;       // waiting now (memory and spool), the one being sent included
  std::uint64_t spooled = 0;      // of which waiting in the spool file
  bool connected = false;
};

// What the publisher tells its owner. Called from the worker thread (or from push() for the
// overflow), never under the publisher's lock, so they may post messages or log.
struct PublisherEvents {
  std::function<void(const std::string& reason)> unreachable;  // once per outage
  std::function<void()> reconnected;
  std::function<void(std::size_t max_queue)> overflow;  // the first drop of an overflow episode
  std::function<void(const std::exception_ptr& error)> failed;  // AuthError or FatalError
};

class Publisher {
 public:
  // `spool` (optional) takes the messages that do not fit in the `max_queue` in memory; from the
  // first spooled message on, newer ones go to the spool too until it has drained, which keeps
  // the order.
  Publisher(std::unique_ptr<Transport> transport, std::size_t max_queue, PublisherEvents events,
            std::unique_ptr<Spool> spool = nullptr);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  const Transport& transport() const { return *transport_; }

  // Connects once, here, so that the caller learns at once whether the destination is there, and
  // starts the worker. A destination that cannot be reached throws UnreachableError when
  // `fail_if_unreachable`, else the worker keeps trying (and `unreachable` is raised from here).
  // AuthError and FatalError are always thrown.
  void start(bool fail_if_unreachable);

  // Queues a message; false when the queue (and spool) was full and the message was dropped
  // (counted).
  bool push(std::string message);

  // Waits until every queued message is delivered, the publisher has failed, or `timeout`
  // passed; returns how many are left.
  std::size_t flush(std::chrono::milliseconds timeout);

  // Stops the worker (an unfinished send is abandoned) and counts what is left as undelivered.
  void stop();

  PublishStats stats() const;

  // True once the worker stopped on an AuthError or FatalError (reported through `failed`).
  bool failed() const;

 private:
  void run();
  void wait_for(std::chrono::milliseconds delay);
  std::uint64_t pending() const;  // under mutex_

  std::unique_ptr<Transport> transport_;
  const std::size_t max_queue_;
  PublisherEvents events_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // a message came, or stop
  std::condition_variable drained_;  // a message was delivered, or the worker ended
  std::deque<std::string> queue_;
  std::unique_ptr<Spool> spool_;
  PublishStats stats_;
  bool overflowing_ = false;
  bool stopping_ = false;
  bool worker_done_ = false;
  bool failed_ = false;
  std::atomic<bool> cancel_{false};
  std::thread worker_;
};

}  // namespace hesp::publish

// SPDX-License-Identifier: LGPL-2.1-or-later
// method=kafka with librdkafka. librdkafka keeps its own connections to the cluster and
// reconnects by itself; messages are produced with an unlimited message timeout, and send() waits
// for the delivery report of its one message, which keeps the order.
//
// An outage is made visible to Publisher (stats `reconnects` and `connected`, the element's
// warnings) through librdkafka's error callback: RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, raised once
// each time the last broker connection goes down, latches "brokers down". Then poll() returns
// false, and a send() waiting for its delivery report purges its message (so that librdkafka does
// not deliver it later behind the publisher's back) and returns kConnectionLost; Publisher calls
// connect(), whose metadata request clears the latch once a broker answers, and sends the message
// again. connect() first serves the events librdkafka queued before its request: an
// ALL_BROKERS_DOWN among them belongs to the outage the answer ends. One queued during the request
// is kept (it may be a new outage), and one served after the cluster is back costs at most a
// reconnection and a resend (at-least-once: the frame's timestamp lets a subscriber drop it);
// never a loss or a reordering, since the purged copy is never retried. Delivery reports carry the
// number of their send(), so a late report of a purged message is not taken for the current one.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>

#include "metapublish/transport.h"

namespace hesp::publish {

class KafkaTransport : public Transport {
 public:
  explicit KafkaTransport(const TransportOptions& options);
  ~KafkaTransport() override;

  std::string describe() const override;
  void connect() override;
  Sent send(const std::string& payload, const std::atomic<bool>& cancel) override;
  bool poll() override;

 private:
  void create_producer();
  Sent abandon();

  TransportOptions options_;
  rd_kafka_t* producer_ = nullptr;
  // Written by the delivery report and error callbacks, which run inside rd_kafka_poll() on the
  // thread that calls it: connect() from Publisher::start(), then only the publisher's worker.
  std::uintptr_t sending_ = 0;  // the number of the current send(), the message's opaque
  bool reported_ = false;       // its delivery report came
  rd_kafka_resp_err_t report_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool brokers_down_ = false;  // ALL_BROKERS_DOWN served, no broker answered connect() since
};

}  // namespace hesp::publish

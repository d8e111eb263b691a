// SPDX-License-Identifier: LGPL-2.1-or-later
// method=kafka with librdkafka. librdkafka keeps its own connections to the cluster and
// reconnects by itself; messages are produced with an unlimited message timeout, so one produced
// while every broker is down waits inside librdkafka and is delivered when a broker is back.
// send() waits for the delivery report of its one message, which keeps the order.
#pragma once

#include <librdkafka/rdkafka.h>

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

 private:
  void create_producer();

  TransportOptions options_;
  rd_kafka_t* producer_ = nullptr;
  // Written by the delivery report callback, which runs inside rd_kafka_poll() on this thread.
  bool reported_ = false;
  rd_kafka_resp_err_t report_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
};

}  // namespace hesp::publish

// SPDX-License-Identifier: LGPL-2.1-or-later
// method=mqtt with libmosquitto, driven from the publisher's worker thread (no libmosquitto
// thread): connect, publish, then run the network loop until the broker acknowledges the message
// (QoS 1 and 2) or it is written out (QoS 0).
#pragma once

#include <string>

#include "metapublish/transport.h"

struct mosquitto;

namespace hesp::publish {

class MqttTransport : public Transport {
 public:
  explicit MqttTransport(const TransportOptions& options);
  ~MqttTransport() override;

  std::string describe() const override;
  void connect() override;
  Sent send(const std::string& payload, const std::atomic<bool>& cancel) override;
  bool poll() override;

 private:
  void close();
  std::string broker() const;

  TransportOptions options_;
  HostPort host_port_;
  struct mosquitto* mosq_ = nullptr;
  // Written by libmosquitto's callbacks, which run inside mosquitto_loop() on this thread.
  int connack_ = -1;    // CONNACK return code, -1 until it came
  int acked_mid_ = -1;  // message id of the last PUBACK/PUBCOMP (or QoS 0 write)
  bool disconnected_ = false;
};

}  // namespace hesp::publish

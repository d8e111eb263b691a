// SPDX-License-Identifier: LGPL-2.1-or-later
// The one interface behind which hespmetapublish's methods (file, MQTT, Kafka) sit. A transport
// knows how to reach one destination and hand it one message; the order of messages, the bounded
// queue, reconnecting and the accounting live once, in Publisher (publisher.h). Adding a method
// means a new transport file pair plus one line in make_transport() (transports.cpp).
#pragma once

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

namespace hesp::publish {

// What the element's properties tell every transport. Each uses the fields it understands.
struct TransportOptions {
  std::string address;  // file path, "host:port", or a Kafka bootstrap list "h1:p1,h2:p2"
  std::string topic;
  std::string client_id;
  int qos = 1;          // MQTT quality of service, 0..2
  int acks = -1;        // Kafka: 0, 1, or -1 (all in-sync replicas)
  std::string ca_file;  // TLS: all empty = plain TCP
  std::string cert_file;
  std::string key_file;
  int connect_timeout_ms = 5000;
};

// The address or another setting is malformed (an address is "host:port" with a port in
// 1..65535); raised before any connection is tried, so it is a settings error, never retried.
class ConfigError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The destination cannot be reached now (connection refused, host down, timed out). Publisher
// retries it unless the element was told to fail at start.
class UnreachableError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The broker refused us: credentials, certificates or access rights. Retrying cannot help.
class AuthError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Anything else that retrying cannot fix (a file that cannot be opened, a TLS file missing, a
// client library that refuses the configuration).
class FatalError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // "mqtt://host:port/topic" and the like: how errors and warnings name the destination.
  virtual std::string describe() const = 0;

  // Opens the connection, blocking at most the connect timeout. Throws UnreachableError,
  // AuthError or FatalError. Called again after send() reported a lost connection.
  virtual void connect() = 0;

  enum class Sent { kDelivered, kConnectionLost };

  // Hands one message over and waits until the destination has it (as far as the QoS or acks
  // ask) or `cancel` becomes true. kConnectionLost means the message may or may not have
  // arrived: Publisher reconnects and sends it again (at-least-once). Throws AuthError or
  // FatalError when retrying cannot help. A cancelled send returns kConnectionLost.
  virtual Sent send(const std::string& payload, const std::atomic<bool>& cancel) = 0;

  // Called while no message waits, every few hundred milliseconds: keeps the connection alive
  // (MQTT pings) and notices a broker that went away before the next message does. Returns
  // false when the connection is lost.
  virtual bool poll() { return true; }
};

enum class Method { kFile = 0, kMqtt = 1, kKafka = 2 };

// The transport of `method`, built but not connected. Throws ConfigError for a malformed
// address and FatalError when the method is not built into this plugin.
std::unique_ptr<Transport> make_transport(Method method, const TransportOptions& options);

// Whether this build has the method (MQTT and Kafka depend on optional libraries).
bool method_built_in(Method method);

// "host:port" -> host and port; throws ConfigError naming the address otherwise. IPv6 hosts are
// written in brackets: "[::1]:1883".
struct HostPort {
  std::string host;
  int port = 0;
};
HostPort parse_host_port(const std::string& address);

}  // namespace hesp::publish

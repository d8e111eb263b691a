// SPDX-License-Identifier: LGPL-2.1-or-later
#include "metapublish/mqtt_transport.h"

#include <mosquitto.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

namespace hesp::publish {

namespace {

constexpr int kKeepAliveSeconds = 30;
constexpr int kLoopTimeoutMs = 50;

// Whether a TCP connection to host:port opens within timeout_ms; throws UnreachableError with
// the reason when not. mosquitto_connect() blocks in connect(2) without a time limit (minutes for
// a host that drops packets), which would hold up stop(); this bounded probe runs first.
void probe_tcp(const std::string& host, int port, int timeout_ms, const std::string& broker) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    throw UnreachableError("cannot resolve the host of " + broker);
  std::string reason = "no address";
  bool ok = false;
  for (addrinfo* a = found; a && !ok; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, timeout_ms);
      int error = 0;
      socklen_t len = sizeof error;
      if (ready == 0) {
        reason = "no answer within " + std::to_string(timeout_ms) + " ms";
      } else if (ready > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0) {
        ok = error == 0;
        if (!ok) reason = std::strerror(error);
      }
    } else {
      reason = std::strerror(errno);
    }
    ::close(fd);
  }
  freeaddrinfo(found);
  if (!ok) throw UnreachableError("cannot connect to " + broker + ": " + reason);
}

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

}  // namespace

MqttTransport::MqttTransport(const TransportOptions& options)
    : options_(options), host_port_(parse_host_port(options.address)) {
  if (options_.topic.empty()) throw ConfigError("method=mqtt needs a 'topic'");
  if (options_.qos < 0 || options_.qos > 2) throw ConfigError("MQTT qos must be 0, 1 or 2");
  if (mosquitto_pub_topic_check(options_.topic.c_str()) != MOSQ_ERR_SUCCESS)
    throw ConfigError("'" + options_.topic + "' is not a valid MQTT topic to publish to");
  init_library();
}

MqttTransport::~MqttTransport() { close(); }

std::string MqttTransport::broker() const {
  return (options_.ca_file.empty() ? "mqtt://" : "mqtts://") + options_.address;
}

std::string MqttTransport::describe() const { return "MQTT broker " + broker(); }

void MqttTransport::close() {
  if (!mosq_) return;
  mosquitto_disconnect(mosq_);
  mosquitto_destroy(mosq_);
  mosq_ = nullptr;
}

void MqttTransport::connect() {
  // A fresh client per connection: libmosquitto would otherwise re-send the messages in flight
  // when the connection broke, while Publisher re-sends its head message itself, which would
  // duplicate it.
  close();
  const char* id = options_.client_id.empty() ? nullptr : options_.client_id.c_str();
  mosq_ = mosquitto_new(id, true, this);
  if (!mosq_)
    throw FatalError("cannot create an MQTT client: " + std::string(std::strerror(errno)));
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set(mosq_, [](struct mosquitto*, void* self, int rc) {
    static_cast<MqttTransport*>(self)->connack_ = rc;
  });
  mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int mid) {
    static_cast<MqttTransport*>(self)->acked_mid_ = mid;
  });
  mosquitto_disconnect_callback_set(mosq_, [](struct mosquitto*, void* self, int) {
    static_cast<MqttTransport*>(self)->disconnected_ = true;
  });
  if (!options_.ca_file.empty() || !options_.cert_file.empty()) {
    const auto or_null = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    const int rc =
        mosquitto_tls_set(mosq_, or_null(options_.ca_file), nullptr, or_null(options_.cert_file),
                          or_null(options_.key_file), nullptr);
    if (rc != MOSQ_ERR_SUCCESS)
      throw FatalError("TLS files for " + broker() + " not usable (ca-file '" + options_.ca_file +
                       "', cert-file '" + options_.cert_file + "', key-file '" + options_.key_file +
                       "'): " + mosquitto_strerror(rc));
  }
  probe_tcp(host_port_.host, host_port_.port, options_.connect_timeout_ms, broker());
  connack_ = -1;
  disconnected_ = false;
  errno = 0;
  int rc = mosquitto_connect(mosq_, host_port_.host.c_str(), host_port_.port, kKeepAliveSeconds);
  if (rc == MOSQ_ERR_ERRNO)
    throw UnreachableError("cannot connect to " + broker() + ": " + std::strerror(errno));
  if (rc == MOSQ_ERR_EAI) throw UnreachableError("cannot resolve the host of " + broker());
  if (rc == MOSQ_ERR_TLS)
    throw AuthError("TLS handshake with " + broker() + " failed (check ca-file, cert-file, " +
                    "key-file)");
  if (rc != MOSQ_ERR_SUCCESS)
    throw UnreachableError("cannot connect to " + broker() + ": " + mosquitto_strerror(rc));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
  while (connack_ < 0) {
    rc = mosquitto_loop(mosq_, kLoopTimeoutMs, 1);
    if (connack_ >= 0) break;  // a refusal is followed by the broker closing the connection
    if (rc != MOSQ_ERR_SUCCESS || disconnected_)
      throw UnreachableError(broker() + " closed the connection before accepting it");
    if (std::chrono::steady_clock::now() > deadline)
      throw UnreachableError(broker() + " did not answer the MQTT CONNECT in time");
  }
  // CONNACK 4 (bad user name or password) and 5 (not authorised) cannot heal by retrying.
  if (connack_ == 4 || connack_ == 5)
    throw AuthError(broker() + " refused the connection: " + mosquitto_connack_string(connack_));
  if (connack_ != 0)
    throw UnreachableError(broker() +
                           " refused the connection: " + mosquitto_connack_string(connack_));
}

Transport::Sent MqttTransport::send(const std::string& payload, const std::atomic<bool>& cancel) {
  int mid = 0;
  acked_mid_ = -1;
  int rc = mosquitto_publish(mosq_, &mid, options_.topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), options_.qos, false);
  if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)
    return Sent::kConnectionLost;
  if (rc != MOSQ_ERR_SUCCESS)
    throw FatalError("cannot publish to " + broker() + ": " + mosquitto_strerror(rc));
  while (acked_mid_ != mid) {
    if (cancel) return Sent::kConnectionLost;
    rc = mosquitto_loop(mosq_, kLoopTimeoutMs, 1);
    if (rc != MOSQ_ERR_SUCCESS || disconnected_) return Sent::kConnectionLost;
  }
  return Sent::kDelivered;
}

bool MqttTransport::poll() {
  return mosquitto_loop(mosq_, 0, 1) == MOSQ_ERR_SUCCESS && !disconnected_;
}

}  // namespace hesp::publish

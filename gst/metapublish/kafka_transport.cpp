// SPDX-License-Identifier: LGPL-2.1-or-later
#include "metapublish/kafka_transport.h"

#include <algorithm>
#include <sstream>

namespace hesp::publish {

namespace {

constexpr int kPollMs = 50;

bool is_auth_error(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL ||
         err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
}

}  // namespace

KafkaTransport::KafkaTransport(const TransportOptions& options) : options_(options) {
  if (options_.topic.empty()) throw ConfigError("method=kafka needs a 'topic'");
  if (options_.acks < -1 || options_.acks > 1)
    throw ConfigError("Kafka acks must be -1 (all), 0 or 1");
  // Every entry of the bootstrap list must be host:port: librdkafka would otherwise only log.
  std::stringstream list(options_.address);
  std::string entry;
  bool any = false;
  while (std::getline(list, entry, ',')) {
    parse_host_port(entry);
    any = true;
  }
  if (!any) throw ConfigError("method=kafka needs the bootstrap servers as 'address' (host:port)");
}

KafkaTransport::~KafkaTransport() {
  if (!producer_) return;
  // Nothing may stay queued, or rd_kafka_destroy() would wait for it.
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(producer_, 0);
  rd_kafka_destroy(producer_);
}

std::string KafkaTransport::describe() const { return "Kafka cluster kafka://" + options_.address; }

void KafkaTransport::create_producer() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  const auto set = [&](const char* name, const std::string& value) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw ConfigError(std::string("Kafka setting ") + name + "=" + value + ": " + error);
    }
  };
  set("bootstrap.servers", options_.address);
  if (!options_.client_id.empty()) set("client.id", options_.client_id);
  set("acks", std::to_string(options_.acks));
  // 0 = no time limit: a message waits for a broker that is down rather than being dropped.
  set("message.timeout.ms", "0");
  set("linger.ms", "0");
  // librdkafka accepts no less than a second here; connect() bounds its own wait by the property.
  set("socket.connection.setup.timeout.ms",
      std::to_string(std::max(options_.connect_timeout_ms, 1000)));
  if (!options_.ca_file.empty() || !options_.cert_file.empty()) {
    set("security.protocol", "ssl");
    if (!options_.ca_file.empty()) set("ssl.ca.location", options_.ca_file);
    if (!options_.cert_file.empty()) set("ssl.certificate.location", options_.cert_file);
    if (!options_.key_file.empty()) set("ssl.key.location", options_.key_file);
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<KafkaTransport*>(opaque);
    // A late report of an earlier, purged message says nothing about the current one.
    if (reinterpret_cast<std::uintptr_t>(m->_private) != self->sending_) return;
    self->reported_ = true;
    self->report_error_ = m->err;
  });
  // Registering it also keeps librdkafka from logging these errors to stderr; the others are
  // transient ones librdkafka recovers from by itself.
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int err, const char*, void* opaque) {
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
      static_cast<KafkaTransport*>(opaque)->brokers_down_ = true;
  });
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!producer_) {
    rd_kafka_conf_destroy(conf);
    throw FatalError("cannot create a Kafka producer for " + describe() + ": " + error);
  }
}

void KafkaTransport::connect() {
  if (!producer_) create_producer();
  // Whatever ALL_BROKERS_DOWN is queued now happened before the request below: if a broker
  // answers it, that outage is over. Serving it here keeps it from being taken for a new one.
  rd_kafka_poll(producer_, 0);
  // A metadata request tells whether any broker answers; librdkafka itself would wait silently.
  const struct rd_kafka_metadata* metadata = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(producer_, 0, nullptr, &metadata, options_.connect_timeout_ms);
  if (metadata) rd_kafka_metadata_destroy(metadata);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    brokers_down_ = false;
    return;
  }
  if (is_auth_error(err))
    throw AuthError(describe() + " refused the connection: " + rd_kafka_err2str(err));
  throw UnreachableError("cannot reach " + describe() + ": " + rd_kafka_err2str(err));
}

Transport::Sent KafkaTransport::send(const std::string& payload, const std::atomic<bool>& cancel) {
  // Every broker went down after the last message was delivered: reconnect first.
  if (brokers_down_) return Sent::kConnectionLost;
  ++sending_;
  reported_ = false;
  while (true) {
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(options_.topic.c_str()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(sending_)), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw FatalError("cannot produce to " + describe() + ": " + rd_kafka_err2str(err));
    if (cancel || brokers_down_) return Sent::kConnectionLost;
    rd_kafka_poll(producer_, kPollMs);
  }
  while (!reported_) {
    // Abandoned, or every broker is down: the message waits inside librdkafka no longer.
    if (cancel || brokers_down_) return abandon();
    rd_kafka_poll(producer_, kPollMs);
  }
  if (report_error_ == RD_KAFKA_RESP_ERR_NO_ERROR) return Sent::kDelivered;
  if (is_auth_error(report_error_))
    throw AuthError(describe() + " refused the message: " + rd_kafka_err2str(report_error_));
  return Sent::kConnectionLost;
}

Transport::Sent KafkaTransport::abandon() {
  // Purged, it cannot be delivered later behind the publisher's back, after a newer message or
  // after its own resend; its report (PURGE_QUEUE or PURGE_INFLIGHT) is served and ignored. One
  // already on the wire may still have reached the broker: the resend is then a repeat.
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(producer_, 0);
  return Sent::kConnectionLost;
}

bool KafkaTransport::poll() {
  if (!producer_) return true;
  rd_kafka_poll(producer_, 0);
  return !brokers_down_;
}

}  // namespace hesp::publish

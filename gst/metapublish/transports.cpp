// SPDX-License-Identifier: LGPL-2.1-or-later
// The registry of methods: one line per transport in make_transport().
#include <cstdlib>
#include <string>

#include "metapublish/file_transport.h"
#include "metapublish/transport.h"
#ifdef HESP_HAVE_MQTT
#include "metapublish/mqtt_transport.h"
#endif
#ifdef HESP_HAVE_KAFKA
#include "metapublish/kafka_transport.h"
#endif

namespace hesp::publish {

HostPort parse_host_port(const std::string& address) {
  const auto bad = [&](const char* why) {
    return ConfigError("address '" + address + "' is not host:port (" + why + ")");
  };
  HostPort hp;
  std::string port;
  if (!address.empty() && address[0] == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      throw bad("an IPv6 host is written [host]:port");
    hp.host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) throw bad("no port");
    hp.host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) throw bad("an IPv6 host is written [host]:port");
  }
  if (hp.host.empty()) throw bad("no host");
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5)
    throw bad("the port is not a number");
  hp.port = std::atoi(port.c_str());
  if (hp.port < 1 || hp.port > 65535) throw bad("the port is not in 1..65535");
  return hp;
}

bool method_built_in(Method method) {
  switch (method) {
    case Method::kFile:
      return true;
    case Method::kMqtt:
#ifdef HESP_HAVE_MQTT
      return true;
#else
      return false;
#endif
    case Method::kKafka:
#ifdef HESP_HAVE_KAFKA
      return true;
#else
      return false;
#endif
  }
  return false;
}

std::unique_ptr<Transport> make_transport(Method method, const TransportOptions& options) {
  switch (method) {
    case Method::kFile:
      return std::make_unique<FileTransport>(options);
#ifdef HESP_HAVE_MQTT
    case Method::kMqtt:
      return std::make_unique<MqttTransport>(options);
#endif
#ifdef HESP_HAVE_KAFKA
    case Method::kKafka:
      return std::make_unique<KafkaTransport>(options);
#endif
    default:
      break;
  }
  throw FatalError(std::string("method=") + (method == Method::kMqtt ? "mqtt" : "kafka") +
                   " is not built into this plugin (it was built without " +
                   (method == Method::kMqtt ? "libmosquitto" : "librdkafka") +
                   "; rebuild with the library installed)");
}

}  // namespace hesp::publish

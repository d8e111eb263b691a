// SPDX-License-Identifier: LGPL-2.1-or-later
// hespmetapublish's method registry and address parsing, compiled here without MQTT and Kafka:
// the methods this build lacks are refused with a message that says what to install, and the
// file method, always there, writes its lines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "metapublish/transport.h"

namespace {

using namespace hesp::publish;

TEST(PublishRegistry, MissingMethodsAreClearErrors) {
  EXPECT_TRUE(method_built_in(Method::kFile));
  EXPECT_FALSE(method_built_in(Method::kMqtt));
  EXPECT_FALSE(method_built_in(Method::kKafka));
  TransportOptions options;
  options.address = "127.0.0.1:1883";
  options.topic = "t";
  try {
    make_transport(Method::kMqtt, options);
    FAIL() << "no error for method=mqtt";
  } catch (const FatalError& e) {
    EXPECT_NE(std::string(e.what()).find("method=mqtt is not built into"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("libmosquitto"), std::string::npos) << e.what();
  }
  try {
    make_transport(Method::kKafka, options);
    FAIL() << "no error for method=kafka";
  } catch (const FatalError& e) {
    EXPECT_NE(std::string(e.what()).find("librdkafka"), std::string::npos) << e.what();
  }
}

TEST(PublishRegistry, HostPortParsing) {
  EXPECT_EQ(parse_host_port("broker:1883").host, "broker");
  EXPECT_EQ(parse_host_port("broker:1883").port, 1883);
  EXPECT_EQ(parse_host_port("[::1]:9092").host, "::1");
  EXPECT_EQ(parse_host_port("[::1]:9092").port, 9092);
  for (const char* bad : {"", "broker", "broker:", ":1883", "broker:0", "broker:65536", "broker:x1",
                          "::1:1883", "[::1]1883"}) {
    try {
      parse_host_port(bad);
      ADD_FAILURE() << "'" << bad << "' accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos)
          << e.what();
    }
  }
}

TEST(PublishRegistry, FileTransportAppendsLines) {
  std::string temp = (std::filesystem::temp_directory_path() / "hesp-publish-XXXXXX").string();
  const int fd = mkstemp(temp.data());
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string path = temp;
  TransportOptions options;
  options.address = path;
  auto file = make_transport(Method::kFile, options);
  file->connect();
  std::atomic<bool> cancel{false};
  EXPECT_EQ(file->send("{\"a\":1}", cancel), Transport::Sent::kDelivered);
  EXPECT_EQ(file->send("{\"a\":2}", cancel), Transport::Sent::kDelivered);
  file.reset();
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "{\"a\":1}\n{\"a\":2}\n");
  std::remove(path.c_str());
  options.address = "/nonexistent-dir/x.jsonl";
  EXPECT_THROW(make_transport(Method::kFile, options)->connect(), FatalError);
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
// The core of hespmetapublish without GStreamer: the Publisher's queue and worker on a scripted
// transport (order across lost connections, overflow, flush, stop, failures), and the method
// registry and address parsing, compiled here without MQTT and Kafka: the methods this build lacks
// are refused with a message that says what to install, and the file method writes its lines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "metapublish/publisher.h"
#include "metapublish/transport.h"

namespace {

using namespace hesp::publish;
using std::chrono::milliseconds;

// A destination whose behaviour the test scripts: it is down while `down` is set, loses the
// connection on the sends listed in `lose_on` (by send number, counting from 1; the message is
// recorded as received, as when only the acknowledgement is lost), and throws AuthError on send
// number `auth_fail_on`.
struct Script {
  std::mutex mutex;
  std::atomic<bool> down{false};
  std::vector<int> lose_on;
  int auth_fail_on = 0;
  int sends = 0;
  int connects = 0;
  std::vector<std::string> received;
};

class ScriptedTransport : public Transport {
 public:
  explicit ScriptedTransport(std::shared_ptr<Script> s) : s_(std::move(s)) {}
  std::string describe() const override { return "scripted"; }
  void connect() override {
    std::lock_guard<std::mutex> lock(s_->mutex);
    ++s_->connects;
    if (s_->down) throw UnreachableError("down");
  }
  Sent send(const std::string& payload, const std::atomic<bool>&) override {
    std::lock_guard<std::mutex> lock(s_->mutex);
    if (s_->down) return Sent::kConnectionLost;
    const int n = ++s_->sends;
    if (n == s_->auth_fail_on) throw AuthError("refused");
    s_->received.push_back(payload);
    for (int lose : s_->lose_on)
      if (lose == n) return Sent::kConnectionLost;
    return Sent::kDelivered;
  }
  bool poll() override { return !s_->down; }

 private:
  std::shared_ptr<Script> s_;
};

std::vector<std::string> numbers(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(std::to_string(i));
  return out;
}

TEST(Publisher, DeliversInOrderAndResendsOnlyWhatWasNotAcknowledged) {
  auto script = std::make_shared<Script>();
  script->lose_on = {3, 7};
  int reconnected = 0;
  PublisherEvents events;
  events.reconnected = [&] { ++reconnected; };
  Publisher p(std::make_unique<ScriptedTransport>(script), 100, events);
  p.start(true);
  for (const auto& m : numbers(1, 10)) EXPECT_TRUE(p.push(m));
  EXPECT_EQ(p.flush(milliseconds(5000)), 0u);
  p.stop();
  // Sends 3 and 7 (messages "3" and "6") lost their acknowledgements: each arrived twice, the
  // repeat right after itself, and nothing else moved.
  EXPECT_EQ(script->received, (std::vector<std::string>{"1", "2", "3", "3", "4", "5", "6", "6", "7",
                                                        "8", "9", "10"}));
  const PublishStats s = p.stats();
  EXPECT_EQ(s.published, 10u);
  EXPECT_EQ(s.reconnects, 2u);
  EXPECT_EQ(reconnected, 2);
  EXPECT_EQ(s.undelivered, 0u);
}

TEST(Publisher, QueuesWhileDownDropsTheOverflowAndCatchesUpInOrder) {
  auto script = std::make_shared<Script>();
  script->down = true;
  int unreachable = 0, overflows = 0;
  PublisherEvents events;
  events.unreachable = [&](const std::string&) { ++unreachable; };
  events.overflow = [&](std::size_t max) {
    ++overflows;
    EXPECT_EQ(max, 5u);
  };
  Publisher p(std::make_unique<ScriptedTransport>(script), 5, events);
  EXPECT_THROW(
      Publisher(std::make_unique<ScriptedTransport>(script), 5, PublisherEvents{}).start(true),
      UnreachableError);
  p.start(false);  // retry policy: no throw, one warning
  EXPECT_EQ(unreachable, 1);
  for (const auto& m : numbers(1, 8)) p.push(m);
  EXPECT_EQ(p.stats().dropped, 3u);
  EXPECT_EQ(overflows, 1);                    // one warning per episode, not per drop
  EXPECT_EQ(p.flush(milliseconds(300)), 5u);  // nothing goes while down
  script->down = false;
  EXPECT_EQ(p.flush(milliseconds(5000)), 0u);
  p.push("9");
  EXPECT_EQ(p.flush(milliseconds(5000)), 0u);
  p.stop();
  EXPECT_EQ(script->received, (std::vector<std::string>{"1", "2", "3", "4", "5", "9"}));
  EXPECT_EQ(p.stats().published, 6u);
  EXPECT_EQ(p.stats().reconnects, 1u);
}

std::string temp_dir() {
  std::string dir = (std::filesystem::temp_directory_path() / "hesp-spool-XXXXXX").string();
  if (!mkdtemp(dir.data())) throw std::runtime_error("mkdtemp failed");
  return dir;
}

TEST(Publisher, SpoolTakesTheOverflowAndIsReadBackInOrder) {
  const std::string dir = temp_dir();
  auto script = std::make_shared<Script>();
  script->down = true;
  {
    // Room for 2 in memory and 60 bytes on disk: "1".."9" take 2 bytes a line, "10".."12" 3.
    Publisher p(std::make_unique<ScriptedTransport>(script), 2, PublisherEvents{},
                std::make_unique<Spool>(dir, 30));
    p.start(false);
    for (const auto& m : numbers(1, 20)) p.push(m);
    PublishStats s = p.stats();
    // Memory: 1, 2. Spool: 3..9 (14 bytes) and 10..14 (15 bytes) = 29 bytes; 15 does not fit.
    EXPECT_EQ(s.queued, 14u);
    EXPECT_EQ(s.spooled, 12u);
    EXPECT_EQ(s.dropped, 6u);
    script->down = false;
    EXPECT_EQ(p.flush(milliseconds(5000)), 0u);
    // Drained: the spool starts over, and takes messages again once memory is full.
    script->down = true;
    for (const auto& m : numbers(21, 25)) p.push(m);
    EXPECT_EQ(p.stats().spooled, 3u);
    p.stop();
    EXPECT_EQ(p.stats().undelivered, 5u);
    EXPECT_EQ(script->received, numbers(1, 14));
  }
  // The spool file went with the publisher.
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove(dir);
  EXPECT_THROW(Spool("/nonexistent-dir", 100), FatalError);
}

TEST(Publisher, StopCountsWhatIsLeftAsUndelivered) {
  auto script = std::make_shared<Script>();
  Publisher p(std::make_unique<ScriptedTransport>(script), 100, PublisherEvents{});
  p.start(true);
  script->down = true;
  for (const auto& m : numbers(1, 4)) p.push(m);
  p.stop();
  EXPECT_EQ(p.stats().undelivered, 4u);
  EXPECT_EQ(p.stats().queued, 0u);
}

TEST(Publisher, AuthFailureStopsTheWorkerAndIsReported) {
  auto script = std::make_shared<Script>();
  script->auth_fail_on = 2;
  std::atomic<int> failures{0};
  PublisherEvents events;
  events.failed = [&](const std::exception_ptr& e) {
    EXPECT_THROW(std::rethrow_exception(e), AuthError);
    ++failures;
  };
  Publisher p(std::make_unique<ScriptedTransport>(script), 100, events);
  p.start(true);
  for (const auto& m : numbers(1, 3)) p.push(m);
  // flush returns once the worker has ended, without waiting out its timeout.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(p.flush(milliseconds(10000)), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_TRUE(p.failed());
  EXPECT_EQ(failures.load(), 1);
  p.stop();
  EXPECT_EQ(p.stats().published, 1u);
}

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

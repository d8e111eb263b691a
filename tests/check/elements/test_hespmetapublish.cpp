// SPDX-License-Identifier: LGPL-2.1-or-later
// hespmetapublish against real brokers on 127.0.0.1: a mosquitto the test starts (and restarts)
// and librdkafka's mock Kafka cluster. Checks what a subscriber receives (every frame, once, in
// order, across a broker restart), the file method, the errors at start (bad address, broker
// refused, credentials refused, method not built in), the queue overflow accounting and the
// properties.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "publish_brokers.h"
#include "test_data.h"

namespace {

using hesp::test::MosquittoBroker;
using hesp::test::MqttSubscriber;
using hesp::test::ScratchDir;
using hesp::test::wait_until;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// What a pipeline run ended with, and what it posted on the way.
struct RunResult {
  bool eos = false;
  bool timed_out = false;
  GQuark error_domain = 0;
  gint error_code = 0;
  std::string error;  // message and debug text
  std::vector<std::string> warnings;
  GstStructure* publish_stats = nullptr;  // the element message at end of stream
  GstStructure* final_stats = nullptr;    // the `stats` property after stop

  ~RunResult() {
    if (publish_stats) gst_structure_free(publish_stats);
    if (final_stats) gst_structure_free(final_stats);
  }
  guint64 stat(const char* name, bool final = false) const {
    guint64 v = G_MAXUINT64;
    const GstStructure* s = final ? final_stats : publish_stats;
    if (s) gst_structure_get_uint64(s, name, &v);
    return v;
  }
};

// Runs a launch line (its publisher named "pub") until EOS, an error or `timeout`; `tick` is
// called every 50 ms while it runs.
void run_pipeline(const std::string& launch, RunResult* r, seconds timeout = seconds(60),
                  const std::function<void()>& tick = nullptr) {
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  ASSERT_NE(pipeline, nullptr) << (err ? err->message : "") << " in " << launch;
  g_clear_error(&err);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (std::chrono::steady_clock::now() > end) {
      r->timed_out = true;
      break;
    }
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus, 50 * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING |
                                    GST_MESSAGE_ELEMENT));
    if (tick) tick();
    if (!msg) continue;
    bool done = false;
    switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_EOS:
        r->eos = done = true;
        break;
      case GST_MESSAGE_ERROR: {
        GError* e = nullptr;
        gchar* debug = nullptr;
        gst_message_parse_error(msg, &e, &debug);
        r->error_domain = e->domain;
        r->error_code = e->code;
        r->error = std::string(e->message) + " | " + (debug ? debug : "");
        g_error_free(e);
        g_free(debug);
        done = true;
        break;
      }
      case GST_MESSAGE_WARNING: {
        GError* e = nullptr;
        gst_message_parse_warning(msg, &e, nullptr);
        r->warnings.push_back(e->message);
        g_error_free(e);
        break;
      }
      case GST_MESSAGE_ELEMENT: {
        const GstStructure* s = gst_message_get_structure(msg);
        if (gst_structure_has_name(s, "hesp-publish-stats")) {
          if (r->publish_stats) gst_structure_free(r->publish_stats);
          r->publish_stats = gst_structure_copy(s);
        }
        break;
      }
      default:
        break;
    }
    gst_message_unref(msg);
    if (done) break;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  if (GstElement* pub = gst_bin_get_by_name(GST_BIN(pipeline), "pub")) {
    g_object_get(pub, "stats", &r->final_stats, nullptr);
    gst_object_unref(pub);
  }
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}

std::string test_source(int frames, bool live = false) {
  return "videotestsrc num-buffers=" + std::to_string(frames) + (live ? " is-live=true" : "") +
         " ! video/x-raw,format=RGB,width=160,height=120,framerate=30/1 ! ";
}

// The frames' timestamps, in the order the messages came.
std::vector<guint64> timestamps(const std::vector<std::string>& messages) {
  std::vector<guint64> out;
  for (const auto& m : messages) out.push_back(json::parse(m).at("timestamp").get<guint64>());
  return out;
}

// Each frame arrived, in order: the first arrival of each timestamp comes in increasing order,
// and there are `frames` distinct ones. A repeat (an acknowledgement lost with a connection, the
// at-least-once case) may only repeat a frame already seen; at most `max_repeats` of them.
void expect_every_frame_in_order(const std::vector<guint64>& ts, std::size_t frames,
                                 std::size_t max_repeats) {
  std::set<guint64> seen;
  guint64 last = 0;
  std::size_t repeats = 0;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (seen.count(ts[i])) {
      ++repeats;
      continue;
    }
    if (!seen.empty()) EXPECT_GT(ts[i], last) << "message " << i << " out of order";
    seen.insert(ts[i]);
    last = ts[i];
  }
  EXPECT_EQ(seen.size(), frames);
  EXPECT_LE(repeats, max_repeats);
}

bool any_contains(const std::vector<std::string>& texts, const std::string& part) {
  for (const auto& t : texts)
    if (t.find(part) != std::string::npos) return true;
  return false;
}

// ---- Properties ------------------------------------------------------------------------------

TEST(HespMetaPublish, PropertiesRoundTrip) {
  GstElement* e = gst_element_factory_make("hespmetapublish", nullptr);
  ASSERT_NE(e, nullptr);
  g_object_set(e, "address", "broker.example:8883", "topic", "cams/hall", "client-id", "hall-1",
               "mqtt-qos", 2u, "kafka-acks", 1, "ca-file", "ca.pem", "cert-file", "c.pem",
               "key-file", "k.pem", "max-queue", 7u, "flush-timeout", 1234u, "connect-timeout",
               250u, nullptr);
  gst_util_set_object_arg(G_OBJECT(e), "method", "kafka");
  gst_util_set_object_arg(G_OBJECT(e), "connect-policy", "fail");
  gchar *address, *topic, *client, *ca, *cert, *key;
  guint qos, max_queue, flush, connect;
  gint acks, method, policy;
  g_object_get(e, "address", &address, "topic", &topic, "client-id", &client, "mqtt-qos", &qos,
               "kafka-acks", &acks, "ca-file", &ca, "cert-file", &cert, "key-file", &key,
               "max-queue", &max_queue, "flush-timeout", &flush, "connect-timeout", &connect,
               "method", &method, "connect-policy", &policy, nullptr);
  EXPECT_STREQ(address, "broker.example:8883");
  EXPECT_STREQ(topic, "cams/hall");
  EXPECT_STREQ(client, "hall-1");
  EXPECT_STREQ(ca, "ca.pem");
  EXPECT_STREQ(cert, "c.pem");
  EXPECT_STREQ(key, "k.pem");
  EXPECT_EQ(qos, 2u);
  EXPECT_EQ(acks, 1);
  EXPECT_EQ(max_queue, 7u);
  EXPECT_EQ(flush, 1234u);
  EXPECT_EQ(connect, 250u);
  EXPECT_EQ(method, 2);  // kafka
  EXPECT_EQ(policy, 0);  // fail
  for (gchar* s : {address, topic, client, ca, cert, key}) g_free(s);
  g_object_set(e, "spool-dir", "spool", "max-spool-mb", 7u, nullptr);
  gchar* spool = nullptr;
  guint spool_mb = 0;
  g_object_get(e, "spool-dir", &spool, "max-spool-mb", &spool_mb, nullptr);
  EXPECT_STREQ(spool, "spool");
  EXPECT_EQ(spool_mb, 7u);
  g_free(spool);
  GstStructure* stats = nullptr;
  g_object_get(e, "stats", &stats, nullptr);
  ASSERT_NE(stats, nullptr);
  guint64 published = 1;
  EXPECT_TRUE(gst_structure_get_uint64(stats, "published", &published));
  EXPECT_EQ(published, 0u);
  gst_structure_free(stats);
  gst_object_unref(e);
}

TEST(HespMetaPublish, GstInspectDocumentsPropertiesAndMethods) {
  gchar* out = nullptr;
  gint status = -1;
  const gchar* argv[] = {"gst-inspect-1.0", "hespmetapublish", nullptr};
  ASSERT_TRUE(g_spawn_sync(nullptr, const_cast<gchar**>(argv), nullptr, G_SPAWN_SEARCH_PATH,
                           nullptr, nullptr, &out, nullptr, &status, nullptr));
  const std::string text = out ? out : "";
  g_free(out);
  EXPECT_TRUE(g_spawn_check_wait_status(status, nullptr)) << text;
  for (const char* part :
       {"spool-dir",         "max-spool-mb", "method",     "(0): file",     "(1): mqtt",
        "(2): kafka",        "address",      "topic",      "client-id",     "mqtt-qos",
        "kafka-acks",        "ca-file",      "cert-file",  "key-file",      "max-queue",
        "connect-policy",    "(0): fail",    "(1): retry", "flush-timeout", "stats",
        "hesp-publish-stats"})
    EXPECT_NE(text.find(part), std::string::npos) << "gst-inspect-1.0 does not show " << part;
}

// ---- method=file -----------------------------------------------------------------------------

TEST(HespMetaPublish, FileMethodAppendsOneLinePerFrame) {
  ScratchDir dir;
  const std::string path = dir.path() + "/frames.jsonl";
  for (int run = 0; run < 2; ++run) {
    RunResult r;
    run_pipeline(test_source(12) +
                     "hespmetapublish name=pub method=file add-empty-results=true "
                     "tags={\"camera\":\"hall\"} address=\"" +
                     path + "\" ! fakesink",
                 &r);
    ASSERT_TRUE(r.eos) << r.error;
    EXPECT_EQ(r.stat("published"), 12u);
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 24u);  // appended, not truncated
  const json first = json::parse(lines[0]);
  EXPECT_EQ(first["resolution"]["width"], 160);
  EXPECT_EQ(first["tags"]["camera"], "hall");
  EXPECT_TRUE(first["objects"].empty());
  const auto ts = timestamps(std::vector<std::string>(lines.begin(), lines.begin() + 12));
  expect_every_frame_in_order(ts, 12, 0);
}

TEST(HespMetaPublish, FileMethodWithoutFacesPublishesNothingByDefault) {
  ScratchDir dir;
  const std::string path = dir.path() + "/frames.jsonl";
  RunResult r;
  run_pipeline(test_source(5) + "hespmetapublish name=pub address=\"" + path + "\" ! fakesink", &r);
  ASSERT_TRUE(r.eos) << r.error;
  EXPECT_EQ(r.stat("published"), 0u);
}

// ---- Errors at start -------------------------------------------------------------------------

TEST(HespMetaPublish, BadAddressIsASettingsErrorNamingIt) {
  for (const char* address : {"localhost", "localhost:99999", "localhost:12x", ":1883"}) {
    RunResult r;
    run_pipeline(test_source(5) + "hespmetapublish name=pub method=mqtt address=\"" +
                     std::string(address) + "\" ! fakesink",
                 &r, seconds(20));
    EXPECT_FALSE(r.eos) << address;
    EXPECT_EQ(r.error_domain, GST_LIBRARY_ERROR) << r.error;
    EXPECT_EQ(r.error_code, GST_LIBRARY_ERROR_SETTINGS) << r.error;
    EXPECT_NE(r.error.find(std::string("'") + address + "'"), std::string::npos) << r.error;
  }
  RunResult r;
  run_pipeline(test_source(5) +
                   "hespmetapublish name=pub method=kafka "
                   "address=127.0.0.1:9092,nohostport ! fakesink",
               &r, seconds(20));
  EXPECT_EQ(r.error_code, GST_LIBRARY_ERROR_SETTINGS) << r.error;
  EXPECT_NE(r.error.find("nohostport"), std::string::npos) << r.error;
}

TEST(HespMetaPublish, MethodNotBuiltInIsAClearError) {
#if defined(HESP_TEST_HAVE_MQTT) && defined(HESP_TEST_HAVE_KAFKA)
  GTEST_SKIP() << "this plugin has both MQTT and Kafka; test_publish_core checks the error";
#else
#ifndef HESP_TEST_HAVE_MQTT
  const char* method = "mqtt";
#else
  const char* method = "kafka";
#endif
  RunResult r;
  run_pipeline(test_source(5) + "hespmetapublish name=pub method=" + method +
                   " address=127.0.0.1:1 ! fakesink",
               &r, seconds(20));
  EXPECT_EQ(r.error_code, GST_LIBRARY_ERROR_SETTINGS) << r.error;
  EXPECT_NE(r.error.find("not built into"), std::string::npos) << r.error;
#endif
}

TEST(HespMetaPublish, BrokerDownAtStartFailsWithFailPolicy) {
  const std::string address = "127.0.0.1:" + std::to_string(hesp::test::free_tcp_port());
  RunResult r;
  run_pipeline(test_source(5) +
                   "hespmetapublish name=pub method=mqtt connect-policy=fail "
                   "topic=t address=" +
                   address + " ! fakesink",
               &r, seconds(20));
  EXPECT_FALSE(r.eos);
  EXPECT_EQ(r.error_domain, GST_RESOURCE_ERROR) << r.error;
  EXPECT_EQ(r.error_code, GST_RESOURCE_ERROR_OPEN_WRITE) << r.error;
  EXPECT_NE(r.error.find("mqtt://" + address), std::string::npos) << r.error;
}

TEST(HespMetaPublish, RefusedCredentialsAreAnErrorNamingTheBroker) {
  ScratchDir dir;
  MosquittoBroker broker(dir.path(), /*allow_anonymous=*/false);
  broker.start();
  RunResult r;
  run_pipeline(test_source(5) + "hespmetapublish name=pub method=mqtt topic=t address=" +
                   broker.address() + " ! fakesink",
               &r, seconds(20));
  EXPECT_FALSE(r.eos);
  EXPECT_EQ(r.error_domain, GST_RESOURCE_ERROR) << r.error;
  EXPECT_EQ(r.error_code, GST_RESOURCE_ERROR_NOT_AUTHORIZED) << r.error;
  EXPECT_NE(r.error.find("mqtt://" + broker.address()), std::string::npos) << r.error;
}

// ---- Queue -----------------------------------------------------------------------------------

// No broker at all, retry policy, a queue of 5: the first 5 frames wait, 15 are dropped and
// counted, a warning says so, and at EOS the 5 are reported undelivered.
TEST(HespMetaPublish, QueueOverflowIsCountedAndReported) {
  const std::string address = "127.0.0.1:" + std::to_string(hesp::test::free_tcp_port());
  RunResult r;
  run_pipeline(test_source(20) +
                   "hespmetapublish name=pub method=mqtt topic=t max-queue=5 "
                   "flush-timeout=300 add-empty-results=true address=" +
                   address + " ! fakesink",
               &r, seconds(30));
  ASSERT_TRUE(r.eos) << r.error;
  EXPECT_EQ(r.stat("published"), 0u);
  EXPECT_EQ(r.stat("dropped"), 15u);
  EXPECT_EQ(r.stat("queued"), 5u);
  EXPECT_EQ(r.stat("undelivered", true), 5u);
  EXPECT_EQ(r.stat("dropped", true), 15u);
  EXPECT_TRUE(any_contains(r.warnings, "mqtt://" + address + " is unreachable"));
  EXPECT_TRUE(any_contains(r.warnings, "full (max-queue=5)"));
  EXPECT_TRUE(any_contains(r.warnings, "5 messages not delivered"));
}

// ---- MQTT ------------------------------------------------------------------------------------

TEST(HespMetaPublish, MqttDeliversEveryFrameInOrder) {
  ScratchDir dir;
  MosquittoBroker broker(dir.path());
  broker.start();
  MqttSubscriber sub(broker.port(), "hesp/test", "hesp-test-sub-small");
  RunResult r;
  run_pipeline(test_source(60) +
                   "hespmetapublish name=pub method=mqtt mqtt-qos=1 topic=hesp/test "
                   "client-id=hesp-test-pub add-empty-results=true address=" +
                   broker.address() + " ! fakesink",
               &r);
  ASSERT_TRUE(r.eos) << r.error;
  EXPECT_EQ(r.stat("published"), 60u);
  ASSERT_TRUE(wait_until([&] { return sub.count() >= 60; }, seconds(10))) << sub.count();
  expect_every_frame_in_order(timestamps(sub.messages()), 60, 0);
}

// The broker goes away (SIGTERM, persistence on) while a live source runs and comes back a second
// later: what was queued meanwhile (3 messages in memory, the rest in the spool file) arrives, in
// order, nothing is dropped, and the publisher counted the reconnection.
TEST(HespMetaPublish, MqttSurvivesABrokerRestart) {
  ScratchDir dir;
  MosquittoBroker broker(dir.path());
  broker.start();
  MqttSubscriber sub(broker.port(), "hesp/restart", "hesp-test-sub-restart");
  RunResult r;
  bool restarted = false;
  run_pipeline(test_source(90, /*live=*/true) +
                   "hespmetapublish name=pub method=mqtt mqtt-qos=1 topic=hesp/restart "
                   "add-empty-results=true flush-timeout=20000 max-queue=3 spool-dir=\"" +
                   dir.path() + "\" address=" + broker.address() + " ! fakesink",
               &r, seconds(60), [&] {
                 if (!restarted && sub.count() >= 20) {
                   restarted = true;
                   broker.stop();
                   std::this_thread::sleep_for(seconds(1));
                   broker.start();
                 }
               });
  ASSERT_TRUE(r.eos) << r.error;
  ASSERT_TRUE(restarted);
  EXPECT_GE(r.stat("reconnects"), 1u);
  EXPECT_EQ(r.stat("dropped"), 0u);
  ASSERT_TRUE(wait_until([&] { return sub.count() >= 90; }, seconds(15))) << sub.count();
  std::this_thread::sleep_for(milliseconds(300));  // any late repeat is counted too
  expect_every_frame_in_order(timestamps(sub.messages()), 90, 3);
}

// The demo video (450 frames) through the whole recognizer to a subscriber, with the broker
// stopped and restarted once 100 messages have arrived: the subscriber sees all 450 frames, each
// once, in order (a repeat of an already seen frame, from an acknowledgement lost with the
// connection, is tolerated and counted).
TEST(HespMetaPublishDemo, MqttFullChainSurvivesABrokerRestart) {
  const std::string video = hesp::test::cache_path("demo/demo.mp4");
  const std::string pack = hesp::test::cache_path("models/faceapi-expression.safetensors");
  HESP_REQUIRE_FILE(video);
  HESP_REQUIRE_FILE(pack);
  ScratchDir dir;
  MosquittoBroker broker(dir.path());
  broker.start();
  MqttSubscriber sub(broker.port(), "hesp/demo", "hesp-test-sub-demo");
  RunResult r;
  bool restarted = false;
  std::size_t received_before_restart = 0;
  // Scaled down, detection on every third frame and every fourth frame of a track into the
  // model: the same elements, a fraction of the CPU time.
  run_pipeline("filesrc location=\"" + video +
                   "\" ! decodebin ! videoconvert ! videoscale ! "
                   "video/x-raw,width=320,height=180 ! hespfacecrop detection-interval=3 ! "
                   "hespclipbatch ! hespinfer frame-subsample=4 model=\"" +
                   pack +
                   "\" ! "
                   "hespmetapublish name=pub method=mqtt mqtt-qos=1 topic=hesp/demo "
                   "add-empty-results=true flush-timeout=30000 address=" +
                   broker.address() + " ! fakesink",
               &r, seconds(240), [&] {
                 if (!restarted && sub.count() >= 100) {
                   restarted = true;
                   received_before_restart = sub.count();
                   broker.stop();
                   std::this_thread::sleep_for(seconds(1));
                   broker.start();
                 }
               });
  ASSERT_TRUE(r.eos) << r.error;
  ASSERT_TRUE(restarted);
  EXPECT_LT(received_before_restart, 450u) << "the broker restarted after the video had ended";
  EXPECT_GE(r.stat("reconnects"), 1u);
  EXPECT_EQ(r.stat("dropped"), 0u);
  ASSERT_TRUE(wait_until([&] { return sub.count() >= 450; }, seconds(20))) << sub.count();
  std::this_thread::sleep_for(milliseconds(300));
  expect_every_frame_in_order(timestamps(sub.messages()), 450, 3);
}

// ---- Kafka -----------------------------------------------------------------------------------

// librdkafka's mock cluster: one broker, on a handle of the test's own.
class MockKafka {
 public:
  MockKafka() {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (!handle_) throw std::runtime_error(error);
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
    if (!cluster_) throw std::runtime_error("no mock Kafka cluster");
    rd_kafka_mock_topic_create(cluster_, "hesp-frames", 1, 1);
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  int32_t broker_id() const { return 1; }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

  // Every message of the topic's one partition, read from the beginning until `expected` came or
  // `timeout` passed.
  std::vector<std::string> consume(std::size_t expected, seconds timeout) const {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps().c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "group.id", "hesp-test", error, sizeof error);
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);
    rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, "hesp-frames", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    std::vector<std::string> out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (out.size() < expected && std::chrono::steady_clock::now() < end) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
      if (!m) continue;
      if (!m->err) out.emplace_back(static_cast<const char*>(m->payload), m->len);
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return out;
  }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// A tick for run_pipeline: `after` from now the mock cluster's broker goes down, and a second
// later it comes back, which sets *came_back.
std::function<void()> broker_outage(const MockKafka& kafka, milliseconds after, bool* came_back) {
  *came_back = false;
  auto went_down = std::make_shared<bool>(false);
  auto down_at =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [&kafka, after, came_back, went_down, down_at] {
    const auto now = std::chrono::steady_clock::now();
    if (!*went_down && now - *down_at > after) {
      *went_down = true;
      *down_at = now;
      rd_kafka_mock_broker_set_down(kafka.cluster(), kafka.broker_id());
    } else if (*went_down && !*came_back && now - *down_at > seconds(1)) {
      *came_back = true;
      rd_kafka_mock_broker_set_up(kafka.cluster(), kafka.broker_id());
    }
  };
}

// The mock cluster's one broker goes down for a second while a live source runs: the publisher
// notices (librdkafka's ALL_BROKERS_DOWN), counts the reconnection, and every frame still arrives,
// in order.
TEST(HespMetaPublish, KafkaDeliversEveryFrameInOrderAcrossABrokerOutage) {
  MockKafka kafka;
  RunResult r;
  bool came_back = false;
  run_pipeline(test_source(90, /*live=*/true) +
                   "hespmetapublish name=pub method=kafka topic=hesp-frames kafka-acks=-1 "
                   "add-empty-results=true flush-timeout=20000 address=" +
                   kafka.bootstraps() + " ! fakesink",
               &r, seconds(60), broker_outage(kafka, seconds(1), &came_back));
  ASSERT_TRUE(r.eos) << r.error;
  ASSERT_TRUE(came_back);
  EXPECT_GE(r.stat("reconnects"), 1u) << "the outage went unnoticed";
  EXPECT_EQ(r.stat("published"), 90u);
  EXPECT_EQ(r.stat("dropped"), 0u);
  expect_every_frame_in_order(timestamps(kafka.consume(90, seconds(20))), 90, 3);
}

// The demo video (450 frames) through the whole recognizer to the mock Kafka cluster, whose one
// broker goes down for a second while the video runs: a consumer reads all 450 frames, in order.
TEST(HespMetaPublishDemo, KafkaFullChainSurvivesABrokerOutage) {
  const std::string video = hesp::test::cache_path("demo/demo.mp4");
  const std::string pack = hesp::test::cache_path("models/faceapi-expression.safetensors");
  HESP_REQUIRE_FILE(video);
  HESP_REQUIRE_FILE(pack);
  MockKafka kafka;
  RunResult r;
  bool came_back = false;
  // As the MQTT case: the same elements at a fraction of the CPU time.
  run_pipeline("filesrc location=\"" + video +
                   "\" ! decodebin ! videoconvert ! videoscale ! "
                   "video/x-raw,width=320,height=180 ! hespfacecrop detection-interval=3 ! "
                   "hespclipbatch ! hespinfer frame-subsample=4 model=\"" +
                   pack +
                   "\" ! hespmetapublish name=pub method=kafka topic=hesp-frames kafka-acks=-1 "
                   "add-empty-results=true flush-timeout=30000 address=" +
                   kafka.bootstraps() + " ! fakesink",
               &r, seconds(240), broker_outage(kafka, milliseconds(1500), &came_back));
  ASSERT_TRUE(r.eos) << r.error;
  ASSERT_TRUE(came_back) << "the video ended before the broker came back";
  EXPECT_EQ(r.stat("published"), 450u);
  EXPECT_EQ(r.stat("dropped"), 0u);
  expect_every_frame_in_order(timestamps(kafka.consume(450, seconds(30))), 450, 3);
}

TEST(HespMetaPublish, KafkaUnreachableClusterWithFailPolicyIsAnError) {
  const std::string address = "127.0.0.1:" + std::to_string(hesp::test::free_tcp_port());
  RunResult r;
  run_pipeline(test_source(5) +
                   "hespmetapublish name=pub method=kafka topic=t "
                   "connect-policy=fail connect-timeout=1000 address=" +
                   address + " ! fakesink",
               &r, seconds(30));
  EXPECT_EQ(r.error_code, GST_RESOURCE_ERROR_OPEN_WRITE) << r.error;
  EXPECT_NE(r.error.find("kafka://" + address), std::string::npos) << r.error;
}

}  // namespace

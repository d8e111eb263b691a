// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-hespmetapublish
 * @title: hespmetapublish
 *
 * Publishes each frame's JSON, the same object hespmetaconvert writes (see
 * docs/elements-output.md), as one message: appended as a line to a file (`method=file`), to an
 * MQTT broker (`method=mqtt`, libmosquitto) or to a Kafka topic (`method=kafka`, librdkafka).
 * The video passes through untouched.
 *
 * Messages wait in a queue of at most `max-queue` and are sent one at a time, in frame order;
 * each leaves the queue only when the destination has acknowledged it (`mqtt-qos` 1/2,
 * `kafka-acks`).
 * While the broker is unreachable they wait and are sent, still in order, once it is back; with
 * `spool-dir` the ones beyond `max-queue` wait in a file there (up to `max-spool-mb`). The ones
 * that do not fit are dropped, counted in `stats` and announced with a warning. At end of
 * stream the element waits up to `flush-timeout` milliseconds for the queue to drain before
 * passing EOS on, and warns about what was left.
 *
 * A malformed `address` or a method this build lacks is an error at start. A broker that does
 * not answer at start is, with `connect-policy=retry` (default), a warning and the element keeps
 * trying; with `connect-policy=fail` an error. A broker that rejects the credentials or
 * certificates is always an error.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespclipbatch ! hespinfer ! hespmetapublish method=mqtt address=127.0.0.1:1883 \
 *     topic=hesp/hall mqtt-qos=1 ! fakesink
 * ]| Faces with their expressions to an MQTT topic.
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespmetapublish method=kafka address=broker1:9092,broker2:9092 topic=faces ! fakesink
 * ]| Faces to a Kafka topic.
 */
#include "metapublish/gsthespmetapublish.h"

#include <gst/video/video.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/element_class.h"
#include "common/element_message.h"
#include "common/element_state.h"
#include "common/face_roi.h"
#include "common/frame_json_source.h"
#include "common/property_table.h"
#include "common/stats_property.h"
#include "metapublish/publisher.h"
#include "metapublish/spool.h"
#include "metapublish/transport.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_meta_publish_debug);
#define GST_CAT_DEFAULT gst_hesp_meta_publish_debug

namespace {

using hesp::publish::Method;

enum class ConnectPolicy { kFail = 0, kRetry = 1 };

constexpr const char* kStatsName = "hesp-publish-stats";

// Property values; the initialisers are the properties' defaults.
struct Settings {
  Method method = Method::kFile;
  std::string address;
  std::string topic = "hesp";
  std::string client_id;
  guint qos = 1;
  gint acks = -1;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  guint max_queue = 1000;
  std::string spool_dir;
  guint max_spool_mb = 100;
  ConnectPolicy connect_policy = ConnectPolicy::kRetry;
  guint connect_timeout_ms = 5000;
  guint flush_timeout_ms = 10000;
  std::string source;
  std::string tags = "{}";
  bool add_empty_results = false;
};

// Runtime state, built in start() and dropped in stop().
struct State {
  std::shared_ptr<hesp::publish::Publisher> publisher;
  guint flush_timeout_ms = 0;
  hesp::gst::FrameJsonSource stream;
};

// The stats of the last publisher outlive it, so that an application reads them after stop.
struct Private : hesp::gst::ElementData<Settings, State> {
  hesp::gst::Guarded<hesp::publish::PublishStats> last_stats;
};

GstStructure* stats_structure(const hesp::publish::PublishStats& s) {
  return gst_structure_new(kStatsName, "published", G_TYPE_UINT64, s.published, "dropped",
                           G_TYPE_UINT64, s.dropped, "undelivered", G_TYPE_UINT64, s.undelivered,
                           "queued", G_TYPE_UINT64, s.queued, "spooled", G_TYPE_UINT64, s.spooled,
                           "reconnects", G_TYPE_UINT64, s.reconnects, "connected", G_TYPE_BOOLEAN,
                           s.connected, nullptr);
}

}  // namespace

struct _GstHespMetaPublish {
  GstBaseTransform parent;
  Private* priv;
};

GType gst_hesp_meta_publish_method_get_type(void) {
  static const GEnumValue values[] = {
      {static_cast<gint>(Method::kFile), "JSON lines appended to the file named by address",
       "file"},
      {static_cast<gint>(Method::kMqtt), "MQTT broker at address (host:port), libmosquitto",
       "mqtt"},
      {static_cast<gint>(Method::kKafka), "Kafka cluster at address (bootstrap list), librdkafka",
       "kafka"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespMetaPublishMethod", values);
  return type;
}

GType gst_hesp_meta_publish_connect_policy_get_type(void) {
  static const GEnumValue values[] = {
      {static_cast<gint>(ConnectPolicy::kFail), "Error when the broker cannot be reached at start",
       "fail"},
      {static_cast<gint>(ConnectPolicy::kRetry),
       "Warn and keep trying, queueing messages meanwhile", "retry"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespMetaPublishConnectPolicy", values);
  return type;
}

#define gst_hesp_meta_publish_parent_class parent_class
G_DEFINE_TYPE(GstHespMetaPublish, gst_hesp_meta_publish, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(hespmetapublish, "hespmetapublish", GST_RANK_NONE,
                            GST_TYPE_HESP_META_PUBLISH);

// Posts the error a publisher raised (at start, or later from its worker thread).
static void post_publish_error(GstHespMetaPublish* self, const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const hesp::publish::ConfigError& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), (nullptr));
  } catch (const hesp::publish::AuthError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_AUTHORIZED, ("%s", e.what()), (nullptr));
  } catch (const hesp::publish::UnreachableError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                      ("%s (connect-policy=fail; retry waits for it)", e.what()), (nullptr));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("%s", e.what()), (nullptr));
  }
}

static std::shared_ptr<hesp::publish::Publisher> make_publisher(GstHespMetaPublish* self,
                                                                const Settings& s) {
  hesp::publish::TransportOptions options;
  options.address = s.address;
  options.topic = s.topic;
  options.client_id = s.client_id;
  options.qos = static_cast<int>(s.qos);
  options.acks = s.acks;
  options.ca_file = s.ca_file;
  options.cert_file = s.cert_file;
  options.key_file = s.key_file;
  options.connect_timeout_ms = static_cast<int>(s.connect_timeout_ms);
  auto transport = hesp::publish::make_transport(s.method, options);
  const std::string where = transport->describe();
  // The events run on the publisher's worker thread; the element outlives the publisher, which
  // stop() joins.
  hesp::publish::PublisherEvents events;
  events.unreachable = [self, where](const std::string& reason) {
    GST_ELEMENT_WARNING(
        self, RESOURCE, OPEN_WRITE,
        ("%s is unreachable; messages are queued and sent when it is back.", where.c_str()),
        ("%s", reason.c_str()));
  };
  events.reconnected = [self, where] {
    GST_INFO_OBJECT(self, "connected again to %s", where.c_str());
  };
  events.overflow = [self, where](std::size_t max_queue) {
    GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
                        ("The queue of messages for %s is full (max-queue=%zu): new messages are "
                         "dropped and counted in 'stats' until it drains.",
                         where.c_str(), max_queue),
                        (nullptr));
  };
  events.failed = [self](const std::exception_ptr& error) { post_publish_error(self, error); };
  std::unique_ptr<hesp::publish::Spool> spool;
  if (!s.spool_dir.empty())
    spool = std::make_unique<hesp::publish::Spool>(
        s.spool_dir, static_cast<std::uint64_t>(s.max_spool_mb) * 1024 * 1024);
  return std::make_shared<hesp::publish::Publisher>(std::move(transport), s.max_queue,
                                                    std::move(events), std::move(spool));
}

static gboolean gst_hesp_meta_publish_start(GstBaseTransform* trans) {
  auto* self = GST_HESP_META_PUBLISH(trans);
  const Settings s = self->priv->settings.get();
  State fresh;
  if (!fresh.stream.configure(GST_ELEMENT(self), s.source, s.tags)) return FALSE;
  if (!hesp::publish::method_built_in(s.method)) {
    const bool mqtt = s.method == Method::kMqtt;
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                      ("method=%s is not built into this hesp plugin: it was built without %s.",
                       mqtt ? "mqtt" : "kafka", mqtt ? "libmosquitto" : "librdkafka"),
                      ("install %s and rebuild (meson option -D%s=enabled)",
                       mqtt ? "libmosquitto-dev" : "librdkafka-dev", mqtt ? "mqtt" : "kafka"));
    return FALSE;
  }
  try {
    fresh.publisher = make_publisher(self, s);
    fresh.publisher->start(s.connect_policy == ConnectPolicy::kFail);
  } catch (...) {
    post_publish_error(self, std::current_exception());
    return FALSE;
  }
  GST_INFO_OBJECT(self, "publishing to %s", fresh.publisher->transport().describe().c_str());
  fresh.flush_timeout_ms = s.flush_timeout_ms;
  self->priv->last_stats.with([](hesp::publish::PublishStats& st) { st = {}; });
  self->priv->start(std::move(fresh));
  return TRUE;
}

static std::shared_ptr<hesp::publish::Publisher> current_publisher(GstHespMetaPublish* self) {
  return self->priv->lock_state()->publisher;
}

static gboolean gst_hesp_meta_publish_stop(GstBaseTransform* trans) {
  auto* self = GST_HESP_META_PUBLISH(trans);
  // Stopped without the state lock: the worker's events post messages, and the stats property
  // takes the lock.
  if (auto publisher = current_publisher(self)) {
    publisher->stop();
    const auto stats = publisher->stats();
    self->priv->last_stats.with([&](hesp::publish::PublishStats& st) { st = stats; });
    if (stats.undelivered > 0)
      GST_WARNING_OBJECT(self, "%" G_GUINT64_FORMAT " messages for %s were never delivered",
                         static_cast<guint64>(stats.undelivered),
                         publisher->transport().describe().c_str());
  }
  self->priv->stop();
  return TRUE;
}

// End of stream: the queue gets flush-timeout to drain before EOS goes on, so that a pipeline
// that stops at EOS has delivered what it could.
static void drain_at_eos(GstHespMetaPublish* self) {
  std::shared_ptr<hesp::publish::Publisher> publisher;
  guint timeout_ms = 0;
  {
    auto st = self->priv->lock_state();
    publisher = st->publisher;
    timeout_ms = st->flush_timeout_ms;
  }
  if (!publisher) return;
  const std::size_t left = publisher->flush(std::chrono::milliseconds(timeout_ms));
  const auto stats = publisher->stats();
  if (left > 0 || stats.dropped > 0) {
    GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
                        ("End of stream: %zu messages not delivered to %s within flush-timeout "
                         "(%u ms), %" G_GUINT64_FORMAT " dropped on a full queue.",
                         left, publisher->transport().describe().c_str(), timeout_ms,
                         static_cast<guint64>(stats.dropped)),
                        (nullptr));
  }
  GstStructure* s = stats_structure(stats);
  GST_INFO_OBJECT(self, "end of stream: %" GST_PTR_FORMAT, s);
  hesp::gst::post_element_message(GST_ELEMENT(self), s);
}

static gboolean gst_hesp_meta_publish_sink_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_HESP_META_PUBLISH(trans);
  self->priv->lock_state()->stream.on_event(event);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) drain_at_eos(self);
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static GstFlowReturn gst_hesp_meta_publish_transform_ip(GstBaseTransform* trans,
                                                        GstBuffer* buffer) {
  auto* self = GST_HESP_META_PUBLISH(trans);
  const bool add_empty =
      self->priv->settings.with([](const Settings& s) { return s.add_empty_results; });
  std::string text;
  std::shared_ptr<hesp::publish::Publisher> publisher;
  {
    auto locked = self->priv->lock_state();
    State& st = *locked;
    if (locked.failed()) return GST_FLOW_ERROR;
    const auto faces = hesp::gst::face_rois(buffer);
    if (faces.empty() && !add_empty) return GST_FLOW_OK;
    if (!st.stream.frame_text(trans, buffer, faces, -1, &text)) return locked.flow_return(false);
    publisher = st.publisher;
  }
  if (!publisher) return GST_FLOW_OK;
  // Pushed without the state lock: a full queue posts a warning, whose sync handlers may read
  // `stats`.
  if (!publisher->push(std::move(text)))
    GST_WARNING_OBJECT(self, "queue full: frame %" GST_TIME_FORMAT " dropped",
                       GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
  // A publisher whose worker failed has posted its error; the stream stops here.
  return publisher->failed() ? GST_FLOW_ERROR : GST_FLOW_OK;
}

// `stats` is read from the publisher (the last one after stop), not the settings.
static GstStructure* read_stats(GstHespMetaPublish* self) {
  auto publisher = current_publisher(self);
  return stats_structure(publisher ? publisher->stats() : self->priv->last_stats.get());
}

static void gst_hesp_meta_publish_finalize(GObject* object) {
  // A publisher still running (the element disposed without reaching NULL) is stopped first.
  if (auto publisher = current_publisher(GST_HESP_META_PUBLISH(object))) publisher->stop();
  hesp::gst::finalize_private<GstHespMetaPublish, gst_hesp_meta_publish_get_type>(object);
}

static void gst_hesp_meta_publish_class_init(GstHespMetaPublishClass* klass) {
  static const hesp::gst::ElementDoc doc{
      "hespmetapublish", "HESP metadata publisher", "Filter/Video",
      "Publishes each frame's faces and expressions as DL Streamer-style JSON to a file, an MQTT "
      "broker or a Kafka topic, queueing while the broker is away; the video passes through. "
      "Example: gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! "
      "hespfacecrop ! hespclipbatch ! hespinfer ! hespmetapublish method=mqtt "
      "address=127.0.0.1:1883 topic=hesp/hall ! fakesink"};
  using namespace hesp::gst;  // the property rows and flags
  init_element_class<GstHespMetaPublish, gst_hesp_meta_publish_get_type>(
      klass, doc, &gst_hesp_meta_publish_debug,
      {
          enum_property("method", "Method", "Where the JSON goes: a file, MQTT or Kafka",
                        GST_TYPE_HESP_META_PUBLISH_METHOD, &Settings::method),
          string_property("address", "Address",
                          "method=file: the file JSON lines are appended to; mqtt: the broker "
                          "as host:port; kafka: the bootstrap servers, host:port[,host:port...]",
                          &Settings::address),
          string_property("topic", "Topic", "MQTT or Kafka topic the messages go to",
                          &Settings::topic),
          string_property("client-id", "Client id",
                          "MQTT client id or Kafka client.id; empty = one the library makes up",
                          &Settings::client_id),
          uint_property("mqtt-qos", "MQTT QoS",
                        "MQTT quality of service: 0 at most once, 1 at least once, 2 exactly "
                        "once per connection",
                        0, 2, &Settings::qos),
          int_property("kafka-acks", "Kafka acks",
                       "Kafka acknowledgements awaited per message: 0 none, 1 the leader, -1 all "
                       "in-sync replicas",
                       -1, 1, &Settings::acks),
          string_property("ca-file", "CA file",
                          "PEM file of the CA that signed the broker's certificate; set = TLS",
                          &Settings::ca_file),
          string_property("cert-file", "Certificate file",
                          "PEM client certificate for brokers that ask for one (with key-file)",
                          &Settings::cert_file),
          string_property("key-file", "Key file", "PEM private key of cert-file",
                          &Settings::key_file),
          uint_property("max-queue", "Maximum queue",
                        "Messages waiting for the broker in memory at most; more go to the spool "
                        "when there is one, else are dropped and counted in stats",
                        1, 10000000, &Settings::max_queue),
          string_property("spool-dir", "Spool folder",
                          "Folder for a scratch file that takes the messages beyond max-queue "
                          "while the broker is away (read back in order, removed at stop); "
                          "empty = memory only",
                          &Settings::spool_dir),
          uint_property("max-spool-mb", "Maximum spool size",
                        "MiB the spool file may hold; more messages are dropped and counted", 1,
                        1048576, &Settings::max_spool_mb),
          enum_property("connect-policy", "Connect policy",
                        "A broker that cannot be reached at start: fail (error) or retry (warn "
                        "and keep trying)",
                        GST_TYPE_HESP_META_PUBLISH_CONNECT_POLICY, &Settings::connect_policy),
          uint_property("connect-timeout", "Connect timeout",
                        "Milliseconds one connection attempt may take", 100, 600000,
                        &Settings::connect_timeout_ms),
          uint_property("flush-timeout", "Flush timeout",
                        "Milliseconds the element waits at end of stream for queued messages "
                        "to be delivered; 0 = do not wait",
                        0, G_MAXUINT, &Settings::flush_timeout_ms),
          source_property<Settings>(),
          tags_property<Settings>(),
          boolean_property("add-empty-results", "Add empty results",
                           "Also publish frames without faces (with an empty 'objects' array)",
                           &Settings::add_empty_results, kMutablePlaying),
      });
  add_pad_templates(GST_ELEMENT_CLASS(klass), "video/x-raw(ANY)");

  GObjectClass* object_class = G_OBJECT_CLASS(klass);
  install_stats_property<GstHespMetaPublish, read_stats>(
      object_class,
      "Counters (GstStructure hesp-publish-stats): published, dropped (queue full), undelivered "
      "(left at stop), queued, spooled, reconnects, connected");
  object_class->finalize = gst_hesp_meta_publish_finalize;

  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_hesp_meta_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_hesp_meta_publish_stop);
  trans_class->set_caps = hesp::gst::frame_json_set_caps<GstHespMetaPublish>;
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_hesp_meta_publish_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_hesp_meta_publish_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
  gst_type_mark_as_plugin_api(GST_TYPE_HESP_META_PUBLISH_METHOD, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_HESP_META_PUBLISH_CONNECT_POLICY,
                              static_cast<GstPluginAPIFlags>(0));
}

static void gst_hesp_meta_publish_init(GstHespMetaPublish* self) {
  hesp::gst::init_in_place(self);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// NULL <-> PLAYING cycles with frames flowing in between, for the elements whose start() builds
// something that stop() must take down again: hespinfer's worker and model (alone, two elements
// sharing one model instance, and a clip-zeroshot pack on OpenAI's ResNet image tower),
// hespmetapublish's publisher and worker, and the KLV pair
// (hespklvdecode is an aggregator with a thread of its own). Each round the pipeline goes to
// PLAYING, more frames reach the sink, and it goes back to NULL; no error may be posted, and what
// the element counts says it ran each time.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "hesp/pack_converters.h"
#include "infer_harness.h"
#include "test_data.h"

namespace {

using namespace hesp::test;  // the default pack and the `stats` counters

constexpr int kRounds = 3;
constexpr guint kFramesPerRound = 5;
constexpr const char* kLiveSource =
    "videotestsrc is-live=true ! video/x-raw,format=RGB,width=64,height=48,framerate=25/1";

GstPadProbeReturn count_buffer(GstPad*, GstPadProbeInfo*, gpointer counter) {
  ++*static_cast<std::atomic<guint>*>(counter);
  return GST_PAD_PROBE_OK;
}

// A finished clip of track 1 + n % 3 on every n-th frame, as hespclipbatch would attach it, so
// that hespinfer has work on every frame.
GstPadProbeReturn add_clip(GstPad*, GstPadProbeInfo* info, gpointer frames) {
  static std::atomic<guint64> n{0};
  GstBuffer* b = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
  GST_PAD_PROBE_INFO_DATA(info) = b;
  const guint64 index = n++;
  GstClockTime pts[8];
  for (int f = 0; f < 8; ++f) pts[f] = (index + f) * kFrame;
  gst_buffer_add_hesp_clip_meta(b, 1 + index % 3, -1, 8, 8, 112, static_cast<GBytes*>(frames), pts,
                                index);
  return GST_PAD_PROBE_OK;
}

std::string error_of(GstMessage* m) {
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(m, &err, &debug);
  std::string text = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + err->message + " (" +
                     (debug ? debug : "") + ")";
  g_error_free(err);
  g_free(debug);
  return text;
}

class StateCycles : public ::testing::Test {
 protected:
  void TearDown() override {
    if (pipeline_) {
      gst_element_set_state(pipeline_, GST_STATE_NULL);
      gst_object_unref(pipeline_);
    }
  }

  // The launch line must name its sink "sink".
  void build(const std::string& launch) {
    GError* err = nullptr;
    pipeline_ = gst_parse_launch(launch.c_str(), &err);
    ASSERT_NE(pipeline_, nullptr) << (err ? err->message : "") << " in " << launch;
    ASSERT_EQ(err, nullptr) << err->message;
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
    ASSERT_NE(sink, nullptr);
    GstPad* pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &frames_, nullptr);
    gst_object_unref(pad);
    gst_object_unref(sink);
  }

  GstElement* element(const char* name) {
    GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline_), name);
    EXPECT_NE(e, nullptr) << name;
    return e;
  }

  // kRounds times: PLAYING until kFramesPerRound more frames reached the sink, `while_playing`,
  // then NULL. `after_null` runs once each round is down.
  void cycle(const std::function<void(int round)>& while_playing = {},
             const std::function<void(int round)>& after_null = {}) {
    GstBus* bus = gst_element_get_bus(pipeline_);
    for (int round = 0; round < kRounds; ++round) {
      SCOPED_TRACE(round);
      ASSERT_NE(gst_element_set_state(pipeline_, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
      ASSERT_NE(gst_element_get_state(pipeline_, nullptr, nullptr, 60 * GST_SECOND),
                GST_STATE_CHANGE_FAILURE);
      const guint target = frames_ + kFramesPerRound;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (frames_ < target) {
        if (GstMessage* m = gst_bus_timed_pop_filtered(bus, 20 * GST_MSECOND, GST_MESSAGE_ERROR)) {
          ADD_FAILURE() << error_of(m);
          gst_message_unref(m);
          break;
        }
        ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "frames stopped at " << frames_;
      }
      if (while_playing) while_playing(round);
      if (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
        ADD_FAILURE() << error_of(m);
        gst_message_unref(m);
      }
      ASSERT_EQ(gst_element_set_state(pipeline_, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
      if (after_null) after_null(round);
    }
    gst_object_unref(bus);
  }

  GstElement* pipeline_ = nullptr;
  std::atomic<guint> frames_{0};
};

class InferStateCycles : public StateCycles {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(default_pack());
    clip_frames_ = random_frames();
  }
  void TearDown() override {
    StateCycles::TearDown();
    if (clip_frames_) g_bytes_unref(clip_frames_);
  }

  // Every frame that reaches the element `name` carries a clip.
  void feed_clips(const char* name) {
    GstElement* e = element(name);
    GstPad* pad = gst_element_get_static_pad(e, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, add_clip, clip_frames_, nullptr);
    gst_object_unref(pad);
    gst_object_unref(e);
  }

  std::string infer(const char* name, const std::string& props) {
    return std::string("hespinfer name=") + name + " threads=1 model=\"" + default_pack() + "\" " +
           props;
  }

  GBytes* clip_frames_ = nullptr;
};

// The worker thread is started and stopped each round, with clips waiting or running.
TEST_F(InferStateCycles, AsyncInfer) {
  build(std::string(kLiveSource) + " ! " + infer("infer", "schedule=async max-queued-clips=2") +
        " ! fakesink name=sink");
  feed_clips("infer");
  GstElement* e = element("infer");
  cycle([&](int) { EXPECT_GE(stat(e, "clips-queued"), kFramesPerRound); });
  gst_object_unref(e);
}

// Two elements of one model instance, one sync and one async: both hold it while PLAYING, the
// last one down releases it, so every round loads it again.
TEST_F(InferStateCycles, TwoInferElementsSharingAModelInstance) {
  const std::string id = "model-instance-id=state-cycles-" + std::to_string(getpid());
  build(std::string(kLiveSource) + " ! tee name=t ! queue ! " +
        infer("infer", id + " schedule=async") + " ! fakesink name=sink t. ! queue ! " +
        infer("infer2", id + " schedule=sync") + " ! fakesink");
  feed_clips("infer");
  feed_clips("infer2");
  GstElement* a = element("infer");
  GstElement* b = element("infer2");
  auto users = [](GstElement* e) {
    GstStructure* s = stats_of(e);
    guint v = 0;
    EXPECT_TRUE(s && gst_structure_get_uint(s, "model-instance-users", &v));
    if (s) gst_structure_free(s);
    return v;
  };
  cycle([&](int round) {
    EXPECT_EQ(users(a), 2u);
    EXPECT_EQ(users(b), 2u);
    EXPECT_EQ(stat(a, "model-instance-loads"), static_cast<guint64>(round + 1));
  });
  gst_object_unref(a);
  gst_object_unref(b);
}

// A clip-zeroshot pack on OpenAI's ResNet image tower, a model class of its own that the default
// pack does not reach, converted once (per process) from the tiny random-weight checkpoint of the
// shared test data.
std::string resnet_checkpoint() { return shared_path("clip/tiny-openai-rn/clip_openai_format.pt"); }
std::string clip_vocab() { return shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }

class ResNetStateCycles : public InferStateCycles {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(resnet_checkpoint());
    HESP_REQUIRE_FILE(clip_vocab());
    clip_frames_ = random_frames();
  }
  static void TearDownTestSuite() {
    if (!pack_.empty()) std::remove(pack_.c_str());
  }

  static const std::string& pack() {
    if (pack_.empty()) {
      hesp::ClipZeroShotConvertOptions o;
      o.checkpoint = resnet_checkpoint();
      o.vocab_path = clip_vocab();
      o.classes = {"happy", "sad", "angry"};
      o.output_path =
          ::testing::TempDir() + "state-cycles-rn-" + std::to_string(getpid()) + ".safetensors";
      hesp::convert_openai_clip(o);
      pack_ = o.output_path;
    }
    return pack_;
  }

  static inline std::string pack_;
};

// On the streaming thread: each start loads the pack afresh (its counters too) and stop lets it
// go; every frame that reached the sink had its clip (112 px, resized to the pack's 64) run
// through the tower first.
TEST_F(ResNetStateCycles, SyncInferOnAResNetClipPack) {
  build(std::string(kLiveSource) + " ! hespinfer name=infer threads=1 schedule=sync model=\"" +
        pack() + "\" ! fakesink name=sink");
  feed_clips("infer");
  GstElement* e = element("infer");
  cycle([&](int) {
    EXPECT_GE(stat(e, "clips-run"), kFramesPerRound);
    EXPECT_GE(stat(e, "frames-encoded"), 1u);
  });
  gst_object_unref(e);
}

// method=file: the publisher and its worker are made at start and joined at stop; each round
// appends to the file, and the counters read after stop are those of the round's publisher.
TEST_F(StateCycles, MetaPublishToAFile) {
  const std::string path =
      std::string(g_get_tmp_dir()) + "/hesp-state-cycles-" + std::to_string(getpid()) + ".jsonl";
  std::remove(path.c_str());
  build(std::string(kLiveSource) + " ! hespmetapublish name=pub method=file address=\"" + path +
        "\" add-empty-results=true ! fakesink name=sink");
  GstElement* pub = element("pub");
  guint64 total_published = 0;
  cycle({}, [&](int) {
    const guint64 published = stat(pub, "published");
    const guint64 undelivered = stat(pub, "undelivered");
    // Stop abandons what is still queued and counts it as undelivered.
    EXPECT_GE(published, 1u);
    EXPECT_GE(published + undelivered, kFramesPerRound);
    total_published += published;
  });
  gst_object_unref(pub);
  std::ifstream in(path);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_GE(lines, total_published);
  std::remove(path.c_str());
}

// The KLV pair: the encoder beside the video, the decoder pairing packets and frames again on
// its own thread, both torn down and started again mid-stream.
TEST_F(StateCycles, KlvEncodeAndDecode) {
  build(std::string(kLiveSource) +
        " ! tee name=t ! queue ! hespklvdecode name=dec ! fakesink name=sink "
        "t. ! queue ! hespklvencode ! dec.klv_sink");
  cycle();
}

}  // namespace

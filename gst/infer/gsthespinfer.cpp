// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-hespinfer
 * @title: hespinfer
 *
 * Runs an expression model pack on the face clips that hespclipbatch attaches (GstHespClipMeta)
 * and writes the result as the `expression` params of the face's ROI (same `object_id`). Each
 * track's latest result is stamped on every later frame of the track until its next clip result
 * arrives, so every frame carries the expression of every face that has completed a clip. A clip
 * is `unknown` when its open-set score is below `unknown-threshold` (by default the threshold
 * calibrated into the pack).
 *
 * With `batch-size` > 1, frames are held back until that many clips are waiting (or
 * `max-batch-frames` frames are held) and the clips run in one forward pass; results do not
 * depend on the batch size, only latency and throughput do.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespclipbatch crop-size=112 ! hespinfer ! hespoverlay ! videoconvert ! autovideosink
 * ]|
 */
#include "infer/gsthespinfer.h"

#include <gst/video/video.h>

#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/element_class.h"
#include "common/element_state.h"
#include "common/face_roi.h"
#include "common/guard.h"
#include "common/property_table.h"
#include "gsthespclipmeta.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp_config.h"
#include "infer/result_stamper.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_infer_debug);
#define GST_CAT_DEFAULT gst_hesp_infer_debug

namespace {

constexpr double kUsePackThreshold = -std::numeric_limits<double>::max();
constexpr guint kForgetFrames = 300;
constexpr guint kMaxTracks = 1024;

std::string default_model_path() {
  return std::string(HESP_CACHE_DIR) + "/models/faceapi-expression.safetensors";
}

// Property values; the initialisers are the properties' defaults.
struct Settings {
  std::string model = default_model_path();
  std::string device = "cpu";
  guint threads = 0;
  guint batch_size = 1;
  guint max_batch_frames = 25;
  double unknown_threshold = kUsePackThreshold;
  double smoothing = 0.0;
  bool post_messages = false;
  // Comma-separated class names the model adds after loading (clip-zeroshot packs).
  std::string extra_classes;
};

// A clip waiting for inference, and where its result goes.
struct PendingClip {
  guint track_id = 0;
  GBytes* frames = nullptr;  // owned reference
  guint n_frames = 0;
  guint crop_size = 0;
  guint64 clip_start = GST_CLOCK_TIME_NONE;
  guint64 clip_end = GST_CLOCK_TIME_NONE;
  size_t buffer_index = 0;  // index into State::held; SIZE_MAX for end-of-stream clips
};

struct State {
  std::unique_ptr<hesp::ExpressionModel> model;
  std::unique_ptr<hesp::gst::ResultStamper> stamper;
  double threshold = 0.0;
  std::deque<GstBuffer*> held;  // frames waiting for their batch, in order
  std::vector<PendingClip> clips;
};

// The state lock is taken by the streaming thread while it processes, never while it pushes.
using Private = hesp::gst::ElementData<Settings, State>;

void release(PendingClip& c) {
  if (c.frames) g_bytes_unref(c.frames);
  c.frames = nullptr;
}

}  // namespace

struct _GstHespInfer {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  Private* priv;
};

#define gst_hesp_infer_parent_class parent_class
G_DEFINE_TYPE(GstHespInfer, gst_hesp_infer, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(hespinfer, "hespinfer", GST_RANK_NONE, GST_TYPE_HESP_INFER);

// "bored, confused" -> {"bored", "confused"}; blanks around names and empty items are dropped.
static std::vector<std::string> split_class_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    const std::size_t b = item.find_first_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, item.find_last_not_of(" \t") - b + 1));
    start = end + 1;
  }
  return out;
}

static gboolean start(GstHespInfer* self) {
  const Settings s = self->priv->settings.get();
  State fresh;
  const bool ok = HESP_GUARD(self, "Could not load the expression model", [&] {
    hesp::ModelOptions options;
    options.device = s.device;
    options.threads = s.threads > 0 ? static_cast<int>(s.threads)
                                    : static_cast<int>(g_get_num_processors());
    fresh.model = hesp::ExpressionModel::load(s.model, options);
    if (!s.extra_classes.empty()) fresh.model->add_classes(split_class_list(s.extra_classes));
    fresh.threshold = s.unknown_threshold == kUsePackThreshold
                          ? fresh.model->default_unknown_threshold()
                          : s.unknown_threshold;
    fresh.stamper = std::make_unique<hesp::gst::ResultStamper>(s.smoothing, kForgetFrames,
                                                               kMaxTracks);
  });
  if (!ok) return FALSE;
  GST_INFO_OBJECT(self, "model %s (%s, %zu classes), threshold %g, device %s",
                  fresh.model->name().c_str(), fresh.model->kind().c_str(),
                  fresh.model->class_names().size(), fresh.threshold, s.device.c_str());
  self->priv->start(std::move(fresh));
  return TRUE;
}

static void drop_pending(State& st) {
  for (GstBuffer* b : st.held) gst_buffer_unref(b);
  st.held.clear();
  for (auto& c : st.clips) release(c);
  st.clips.clear();
}

static void stop(GstHespInfer* self) {
  drop_pending(*self->priv->lock_state());  // ~State would not unref the held buffers
  self->priv->stop();
}

static void post_label_change(GstHespInfer* self, const hesp::gst::LabelChange& change) {
  GstStructure* s = gst_structure_new(
      "hesp-expression-changed", "track-id", G_TYPE_UINT, change.track_id, "label", G_TYPE_STRING,
      change.now.label.c_str(), "previous-label", G_TYPE_STRING, change.previous.c_str(),
      "label-id", G_TYPE_INT, change.now.label_id, "confidence", G_TYPE_DOUBLE,
      change.now.confidence, "is-unknown", G_TYPE_BOOLEAN, change.now.is_unknown ? TRUE : FALSE,
      "open-set-score", G_TYPE_DOUBLE, change.now.open_set_score, "clip-end", G_TYPE_UINT64,
      change.now.clip_end, nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// Runs the model on every pending clip (in chunks of batch-size) and stamps the held frames.
// Returns the frames, now ready to be pushed, in order. Called with the state lock held.
static bool run_pending(GstHespInfer* self, State& st, const Settings& s,
                        std::vector<GstBuffer*>* ready, std::vector<hesp::gst::LabelChange>* changes) {
  std::vector<hesp::ExpressionResult> results;
  results.reserve(st.clips.size());
  const bool ok = HESP_GUARD(self, "Expression inference failed", [&] {
    const size_t batch = std::max<guint>(1, s.batch_size);
    for (size_t begin = 0; begin < st.clips.size(); begin += batch) {
      std::vector<hesp::ClipView> views;
      for (size_t i = begin; i < std::min(st.clips.size(), begin + batch); ++i) {
        const PendingClip& c = st.clips[i];
        views.push_back(hesp::ClipView{static_cast<const std::uint8_t*>(g_bytes_get_data(c.frames, nullptr)),
                                       static_cast<int>(c.n_frames), static_cast<int>(c.crop_size)});
      }
      auto part = st.model->classify(views, st.threshold);
      results.insert(results.end(), part.begin(), part.end());
    }
  });
  if (!ok) return false;

  // Walk the held frames in order: a clip's result takes effect on the frame that carried it, so
  // earlier frames keep the previous result, exactly as with batch-size 1.
  size_t next_clip = 0;
  const auto apply_clips_of = [&](size_t buffer_index) {
    while (next_clip < st.clips.size() && st.clips[next_clip].buffer_index == buffer_index) {
      const PendingClip& c = st.clips[next_clip];
      auto change = st.stamper->update(c.track_id, results[next_clip], st.threshold,
                                       st.model->class_names(), st.model->name(), c.clip_start,
                                       c.clip_end);
      if (change && s.post_messages) changes->push_back(*change);
      ++next_clip;
    }
  };
  for (size_t i = 0; i < st.held.size(); ++i) {
    GstBuffer* buffer = st.held[i];
    apply_clips_of(i);
    for (const auto& face : hesp::gst::face_rois(buffer)) {
      if (face.track_id < 0) continue;
      if (const auto* params = st.stamper->current(static_cast<guint>(face.track_id)))
        hesp::gst::set_expression(face.meta, *params);
    }
    st.stamper->next_frame();
    ready->push_back(buffer);
  }
  apply_clips_of(SIZE_MAX);  // end-of-stream clips: no frame left to stamp, messages only
  st.held.clear();
  for (auto& c : st.clips) release(c);
  st.clips.clear();
  return true;
}

static GstFlowReturn push_ready(GstHespInfer* self, std::vector<GstBuffer*>& ready,
                                std::vector<hesp::gst::LabelChange>& changes) {
  for (const auto& c : changes) post_label_change(self, c);
  GstFlowReturn ret = GST_FLOW_OK;
  for (GstBuffer* b : ready) {
    if (ret != GST_FLOW_OK) {
      gst_buffer_unref(b);
      continue;
    }
    ret = gst_pad_push(self->srcpad, b);
  }
  ready.clear();
  return ret;
}

static GstFlowReturn gst_hesp_infer_chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  auto* self = GST_HESP_INFER(parent);
  const Settings s = self->priv->settings.get();
  std::vector<GstBuffer*> ready;
  std::vector<hesp::gst::LabelChange> changes;
  {
    auto locked = self->priv->lock_state();
    State& st = *locked;
    if (locked.failed() || !st.model) {
      gst_buffer_unref(buffer);
      return GST_FLOW_ERROR;
    }
    buffer = gst_buffer_make_writable(buffer);
    const size_t index = st.held.size();
    gpointer iter = nullptr;
    while (GstHespClipMeta* meta = gst_buffer_iterate_hesp_clip_meta(buffer, &iter)) {
      PendingClip c;
      c.track_id = meta->track_id;
      c.frames = g_bytes_ref(meta->frames);
      c.n_frames = meta->n_frames;
      c.crop_size = meta->crop_size;
      c.clip_start = meta->pts[0];
      c.clip_end = meta->pts[meta->n_frames - 1];
      c.buffer_index = index;
      st.clips.push_back(c);
    }
    st.held.push_back(buffer);
    // Run now when the batch is full, when frames have waited long enough, or when nothing waits
    // (then the frame only needs the tracks' current results).
    const bool run = st.clips.empty() || st.clips.size() >= std::max<guint>(1, s.batch_size) ||
                     st.held.size() >= std::max<guint>(1, s.max_batch_frames);
    if (run && !run_pending(self, st, s, &ready, &changes)) {
      drop_pending(st);
      return locked.flow_return(false);
    }
  }
  return push_ready(self, ready, changes);
}

// Clips that ended with the stream (from hespclipbatch's "hesp-clip" events): they join the
// pending batch; their results can only be reported as messages.
static void add_event_clip(State& st, GstEvent* event) {
  PendingClip c;
  guint real = 0;
  GstClockTime* pts = nullptr;
  if (!gst_hesp_clip_event_parse(event, &c.track_id, &c.n_frames, &real, &c.crop_size, &c.frames,
                                 &pts))
    return;
  c.clip_start = pts[0];
  c.clip_end = pts[c.n_frames - 1];
  c.buffer_index = SIZE_MAX;
  g_free(pts);
  st.clips.push_back(c);
}

static gboolean gst_hesp_infer_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  auto* self = GST_HESP_INFER(parent);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START: {
      auto st = self->priv->lock_state();
      drop_pending(*st);
      if (st->stamper) st->stamper->reset();
      break;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
    case GST_EVENT_EOS:
    case GST_EVENT_GAP:
    case GST_EVENT_SEGMENT:
    case GST_EVENT_CAPS: {
      // Serialized events must not overtake held frames: finish the pending batch first.
      const Settings s = self->priv->settings.get();
      std::vector<GstBuffer*> ready;
      std::vector<hesp::gst::LabelChange> changes;
      bool ok = true;
      {
        auto locked = self->priv->lock_state();
        State& st = *locked;
        if (gst_hesp_clip_event_is_clip(event) && st.model) add_event_clip(st, event);
        const bool flush_now = GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM ||
                               !gst_hesp_clip_event_is_clip(event);
        if (flush_now && st.model && !locked.failed() && (!st.held.empty() || !st.clips.empty()))
          ok = run_pending(self, st, s, &ready, &changes);
        if (!ok) {
          locked.set_failed();
          drop_pending(st);
        }
      }
      push_ready(self, ready, changes);
      if (!ok) {
        gst_event_unref(event);
        return FALSE;
      }
      break;
    }
    default: break;
  }
  return gst_pad_event_default(pad, parent, event);
}

static gboolean gst_hesp_infer_src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_HESP_INFER(parent);
  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    if (!gst_pad_peer_query(self->sinkpad, query)) return FALSE;
    const Settings s = self->priv->settings.get();
    if (s.batch_size > 1) {
      // Held frames add up to max-batch-frames frame durations; assume 25 fps when unknown.
      gboolean live;
      GstClockTime min, max;
      gst_query_parse_latency(query, &live, &min, &max);
      GstClockTime frame = GST_SECOND / 25;
      if (GstCaps* caps = gst_pad_get_current_caps(self->sinkpad)) {
        GstVideoInfo info;
        if (gst_video_info_from_caps(&info, caps) && info.fps_n > 0)
          frame = gst_util_uint64_scale(GST_SECOND, info.fps_d, info.fps_n);
        gst_caps_unref(caps);
      }
      const GstClockTime extra = frame * (s.max_batch_frames - 1);
      gst_query_set_latency(query, live, min + extra,
                            GST_CLOCK_TIME_IS_VALID(max) ? max + extra : max);
    }
    return TRUE;
  }
  return gst_pad_query_default(pad, parent, query);
}

static GstStateChangeReturn gst_hesp_infer_change_state(GstElement* element,
                                                        GstStateChange transition) {
  auto* self = GST_HESP_INFER(element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !start(self))
    return GST_STATE_CHANGE_FAILURE;
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    auto st = self->priv->lock_state();
    drop_pending(*st);
    if (st->stamper) st->stamper->reset();
    st.clear_failed();
  }
  if (transition == GST_STATE_CHANGE_READY_TO_NULL) stop(self);
  return ret;
}

static void gst_hesp_infer_finalize(GObject* object) {
  stop(GST_HESP_INFER(object));
  hesp::gst::finalize_private<GstHespInfer, gst_hesp_infer_get_type>(object);
}

static void gst_hesp_infer_class_init(GstHespInferClass* klass) {
  static const hesp::gst::ElementDoc doc{
      "hespinfer", "HESP expression recognizer", "Analyzer/Video",
      "Runs an expression model pack on face clips and writes the open-set expression result "
      "onto each face ROI. Example: gst-launch-1.0 filesrc location=movie.avi ! decodebin ! "
      "videoconvert ! hespfacecrop ! hespclipbatch crop-size=112 ! hespinfer ! hespoverlay ! "
      "videoconvert ! autovideosink"};
  using namespace hesp::gst;  // the property rows and flags
  init_element_class<GstHespInfer, gst_hesp_infer_get_type>(
      klass, doc, &gst_hesp_infer_debug,
      {
          string_property("model", "Model",
                          "Model pack (.safetensors); empty = the default pack "
                          "made by setup (face-api expression network)",
                          &Settings::model),
          string_property("device", "Device",
                          "cpu, cuda or cuda:N (cuda needs a CUDA build of "
                          "LibTorch and a GPU)",
                          &Settings::device),
          uint_property("threads", "Threads",
                        "CPU threads for inference (process-wide LibTorch setting; 0 = one per "
                        "core)",
                        0, 256, &Settings::threads),
          uint_property("batch-size", "Batch size",
                        "Clips run together in one forward pass; > 1 holds frames back until "
                        "that many clips wait (see max-batch-frames)",
                        1, 256, &Settings::batch_size),
          uint_property("max-batch-frames", "Maximum batch frames",
                        "Frames held at most while a batch fills (bounds the added latency)", 1,
                        1000, &Settings::max_batch_frames),
          double_property("unknown-threshold", "Unknown threshold",
                          "Open-set score below which a clip is 'unknown'; the lowest double "
                          "(the default) means the threshold calibrated into the model pack",
                          -std::numeric_limits<double>::max(), std::numeric_limits<double>::max(),
                          &Settings::unknown_threshold),
          double_property("smoothing", "Smoothing",
                          "Per-track exponential smoothing of class scores across clips: weight "
                          "of the previous clips (0 = off)",
                          0.0, 0.99, &Settings::smoothing),
          boolean_property("post-messages", "Post messages",
                           "Post a 'hesp-expression-changed' element message when a track's "
                           "label changes",
                           &Settings::post_messages, kMutablePlaying),
          string_property("extra-classes", "Extra classes",
                          "Comma-separated class names added to the model's known classes when "
                          "it loads (clip-zeroshot packs only: each name is put into the pack's "
                          "prompt templates and encoded once)",
                          &Settings::extra_classes),
      });
  add_pad_templates(GST_ELEMENT_CLASS(klass), "video/x-raw(ANY)");
  // Held buffers are unreffed before the private object goes.
  G_OBJECT_CLASS(klass)->finalize = gst_hesp_infer_finalize;
  GST_ELEMENT_CLASS(klass)->change_state = GST_DEBUG_FUNCPTR(gst_hesp_infer_change_state);
}

static void gst_hesp_infer_init(GstHespInfer* self) {
  hesp::gst::init_private(self);
  self->sinkpad = hesp::gst::new_pad_from_class_template(GST_ELEMENT(self), "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_hesp_infer_chain));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_hesp_infer_sink_event));
  GST_PAD_SET_PROXY_CAPS(self->sinkpad);
  GST_PAD_SET_PROXY_ALLOCATION(self->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = hesp::gst::new_pad_from_class_template(GST_ELEMENT(self), "src");
  gst_pad_set_query_function(self->srcpad, GST_DEBUG_FUNCPTR(gst_hesp_infer_src_query));
  GST_PAD_SET_PROXY_CAPS(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

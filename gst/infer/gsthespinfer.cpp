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
 * `schedule` says where the model runs. `sync` runs it in the streaming thread: every clip's
 * result is on the frame that completed the clip, deterministic, for files and evaluation; a
 * model slower than the frame rate slows the stream down. `async` runs it on a worker thread:
 * frames pass at once, each result is stamped on the frames that follow it (its `clip_start` /
 * `clip_end` say how old it is), and when the model falls behind, waiting clips are dropped
 * (newest per track kept) and counted in `stats`. `auto` (the default) is async when upstream is
 * live (latency query) and sync otherwise.
 *
 * Overlapping clips share frames; the model keeps each frame's per-frame result (`frame-cache`)
 * so that every frame runs once. `frame-subsample` looks at every n-th frame of a track only: the
 * frames are taken on the track's own frame grid (the clip meta's `first_index`), so overlapping
 * clips pick the same frames and, with the frame cache, a track costs one frame per n.
 *
 * With `batch-size` > 1 (sync), frames are held back until that many clips are waiting (or
 * `max-batch-frames` frames are held) and the clips run in one forward pass; results do not
 * depend on the batch size, only latency and throughput do. The async worker always runs all the
 * clips waiting for it together.
 *
 * `model-instance-id` shares one loaded model between every hespinfer of the process that names
 * the same id: the first element to start loads it, the last to stop releases it, and an element
 * whose load settings differ from the loaded instance's fails with a settings error naming both.
 * Async elements of an instance share one worker, which runs the waiting clips of all their
 * streams in one batch; each element keeps its own queue bound, drop counts, flushes and end of
 * stream. Sync elements run the shared model in turn (one run at a time), each in its own
 * streaming thread. Results are those of an element with a model of its own.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespclipbatch crop-size=112 ! hespinfer ! hespoverlay ! videoconvert ! autovideosink
 * ]|
 */
#include "infer/gsthespinfer.h"

#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/element_class.h"
#include "common/element_message.h"
#include "common/element_state.h"
#include "common/face_roi.h"
#include "common/guard.h"
#include "common/property_table.h"
#include "common/stats_property.h"
#include "gsthespclipmeta.h"
#include "hesp/cache_dir.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp_config.h"
#include "infer/clip_job.h"
#include "infer/inference_worker.h"
#include "infer/result_stamper.h"
#include "infer/shared_model_registry.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_infer_debug);
#define GST_CAT_DEFAULT gst_hesp_infer_debug

namespace {

constexpr double kUsePackThreshold = -std::numeric_limits<double>::max();
constexpr guint kForgetFrames = 300;
constexpr guint kMaxTracks = 1024;
// Niceness added to the async worker thread, so decoding and detection win the CPU over it.
constexpr int kWorkerNice = 5;
// A drop summary goes to the log at most this often.
constexpr auto kDropWarningPeriod = std::chrono::seconds(5);

enum class Schedule { kSync = 0, kAsync = 1, kAuto = 2 };

// The cache folder of whoever runs the pipeline ($HESP_CACHE_DIR, else the configured or per-user
// folder), so that an installed plugin finds the pack the setup step made for that user.
std::string default_model_path() {
  return hesp::cache_dir() + "/models/faceapi-expression.safetensors";
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
  Schedule schedule = Schedule::kAuto;
  guint max_queued_clips = 8;
  guint frame_subsample = 1;
  guint frame_cache = 4096;
  // CLIP kernel: auto (the precision the pack was calibrated with, where this CPU runs it), fp32
  // or bf16 (CPUs with AVX-512 BF16).
  std::string precision = "auto";
  // Frame-logit packs (fer-cnn): how a clip's frames are pooled; auto = the pack's choice.
  std::string pooling = "auto";
  // Non-empty: share the model (and in async mode the worker) with every hespinfer of the process
  // that names the same instance.
  std::string model_instance_id;
};

// A clip waiting for its sync batch, and where its result goes.
struct PendingClip {
  hesp::gst::ClipJob job;
  size_t buffer_index = 0;  // index into State::held; SIZE_MAX for end-of-stream clips
};

struct State {
  // The model is run and its frame cache touched only under instance->run_lock(): other elements
  // may share it.
  std::shared_ptr<hesp::gst::ModelInstance> instance;
  std::shared_ptr<hesp::ExpressionModel> model;
  std::uint64_t stream_tag = 0;
  std::unique_ptr<hesp::gst::ResultStamper> stamper;
  double threshold = 0.0;
  // Decided at the first buffer or latency query of a stream (schedule=auto asks upstream).
  bool mode_decided = false;
  bool live = false;
  bool async = false;
  // sync: frames waiting for their batch, in order, and their clips.
  std::deque<GstBuffer*> held;
  std::vector<PendingClip> clips;
  hesp::gst::WorkerCounters sync_counters;
  // sync: longest classify() call so far, and the part of it the latency query has reported.
  GstClockTime longest_run = 0;
  GstClockTime reported_run = 0;
  // async
  std::unique_ptr<hesp::gst::WorkerClient> worker;
  std::uint64_t drops_logged = 0;
  std::chrono::steady_clock::time_point last_drop_warning{};
  GstClockTime last_stats_pts = GST_CLOCK_TIME_NONE;
};

// The state lock is taken by the streaming thread while it processes, never while it pushes.
using Private = hesp::gst::ElementData<Settings, State>;

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

#define GST_TYPE_HESP_INFER_SCHEDULE (gst_hesp_infer_schedule_get_type())
static GType gst_hesp_infer_schedule_get_type() {
  static const GEnumValue values[] = {
      {static_cast<gint>(Schedule::kSync),
       "Run the model in the streaming thread; results on the frame that completed the clip",
       "sync"},
      {static_cast<gint>(Schedule::kAsync),
       "Run the model on a worker thread; frames never wait, results follow, late clips dropped",
       "async"},
      {static_cast<gint>(Schedule::kAuto), "async when upstream is live, sync otherwise", "auto"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespInferSchedule", values);
  return type;
}

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

// The properties that decide what a load produces: elements sharing a model instance must agree
// on all of them.
static hesp::gst::LoadSettings load_settings(const Settings& s) {
  return {{"model", s.model},
          {"device", s.device},
          {"precision", s.precision},
          {"pooling", s.pooling},
          {"threads", std::to_string(s.threads)},
          {"extra-classes", s.extra_classes},
          {"frame-subsample", std::to_string(s.frame_subsample)},
          {"frame-cache", std::to_string(s.frame_cache)}};
}

static std::shared_ptr<hesp::ExpressionModel> load_model(const Settings& s) {
  hesp::ModelOptions options;
  options.device = s.device;
  options.precision = s.precision;
  options.pooling = s.pooling;
  options.threads =
      s.threads > 0 ? static_cast<int>(s.threads) : static_cast<int>(g_get_num_processors());
  std::shared_ptr<hesp::ExpressionModel> model = hesp::ExpressionModel::load(s.model, options);
  if (!s.extra_classes.empty()) model->add_classes(split_class_list(s.extra_classes));
  model->set_frame_cache(s.frame_cache);
  model->set_frame_subsample(static_cast<int>(s.frame_subsample));
  return model;
}

static gboolean start(GstHespInfer* self) {
  const Settings s = self->priv->settings.get();
  State fresh;
  const bool ok = HESP_GUARD(self, "Could not load the expression model", [&] {
    fresh.instance = s.model_instance_id.empty()
                         ? hesp::gst::ModelInstance::make_private(load_model(s))
                         : hesp::gst::acquire_model_instance(s.model_instance_id, load_settings(s),
                                                             [&] { return load_model(s); });
    fresh.model = fresh.instance->model_ptr();
    fresh.stream_tag = fresh.instance->new_stream_tag();
    fresh.threshold = s.unknown_threshold == kUsePackThreshold
                          ? fresh.model->default_unknown_threshold()
                          : s.unknown_threshold;
    fresh.stamper =
        std::make_unique<hesp::gst::ResultStamper>(s.smoothing, kForgetFrames, kMaxTracks);
  });
  if (!ok) return FALSE;
  GST_INFO_OBJECT(
      self, "model %s (%s, %zu classes), threshold %g, device %s, precision %s, pooling %s%s%s",
      fresh.model->name().c_str(), fresh.model->kind().c_str(), fresh.model->class_names().size(),
      fresh.threshold, s.device.c_str(), fresh.model->precision().c_str(),
      fresh.model->pooling().c_str(), s.model_instance_id.empty() ? "" : ", shared instance ",
      s.model_instance_id.c_str());
  self->priv->start(std::move(fresh));
  return TRUE;
}

static void drop_pending(State& st) {
  for (GstBuffer* b : st.held) gst_buffer_unref(b);
  st.held.clear();
  st.sync_counters.dropped_flush += st.clips.size();
  st.clips.clear();
}

// Back to the start of a stream: nothing waiting, no results, no cached frames (frame keys may
// repeat with other pixels after a seek).
static void reset_stream(State& st) {
  drop_pending(st);
  if (st.worker) st.worker->flush();
  if (st.model && !st.worker) {
    auto run_lock = st.instance->run_lock();
    st.model->clear_frame_cache();
  }
  if (st.stamper) st.stamper->reset();
}

static void stop(GstHespInfer* self) {
  std::unique_ptr<hesp::gst::WorkerClient> worker;
  {
    auto st = self->priv->lock_state();
    drop_pending(*st);  // ~State would not unref the held buffers
    worker = std::move(st->worker);
  }
  // Without the state lock: the last client of a worker joins its thread (the clips in progress
  // finish).
  worker.reset();
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
  hesp::gst::post_element_message(GST_ELEMENT(self), s);
}

static void apply_result(State& st, const Settings& s, const hesp::gst::ClipOutcome& outcome,
                         std::vector<hesp::gst::LabelChange>* changes) {
  auto change = st.stamper->update(outcome.track_id, outcome.result, st.threshold,
                                   st.model->class_names(), st.model->name(), outcome.clip_start,
                                   outcome.clip_end, outcome.clip_frames);
  if (change && s.post_messages) changes->push_back(*change);
}

// Writes each tracked face's current result onto its ROI; one frame has passed.
static void stamp(State& st, GstBuffer* buffer) {
  for (const auto& face : hesp::gst::face_rois(buffer)) {
    if (face.track_id < 0) continue;
    if (const auto* params = st.stamper->current(static_cast<guint>(face.track_id)))
      hesp::gst::set_expression(face.meta, *params);
  }
  st.stamper->next_frame();
}

// sync: runs the model on every pending clip (in chunks of batch-size) and stamps the held
// frames. Returns the frames, now ready to be pushed, in order. Called with the state lock held.
static bool run_pending(GstHespInfer* self, State& st, const Settings& s,
                        std::vector<GstBuffer*>* ready,
                        std::vector<hesp::gst::LabelChange>* changes) {
  std::vector<hesp::ExpressionResult> results;
  results.reserve(st.clips.size());
  const bool ok = HESP_GUARD(self, "Expression inference failed", [&] {
    const size_t batch = std::max<guint>(1, s.batch_size);
    // A shared model runs one caller at a time; a sync element waits here for the others' runs,
    // and its frames with it, so the wait counts as part of the run the latency reports.
    auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> run_lock;
    if (!st.clips.empty()) run_lock = st.instance->run_lock();  // frames without clips never wait
    for (size_t begin = 0; begin < st.clips.size(); begin += batch) {
      std::vector<hesp::ClipView> views;
      for (size_t i = begin; i < std::min(st.clips.size(), begin + batch); ++i)
        views.push_back(st.clips[i].job.view());
      if (begin > 0) start = std::chrono::steady_clock::now();
      auto part = st.model->classify(views, st.threshold);
      const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
      st.longest_run = std::max<GstClockTime>(st.longest_run, static_cast<GstClockTime>(took));
      results.insert(results.end(), part.begin(), part.end());
    }
  });
  if (!ok) return false;
  ++st.sync_counters.runs;
  st.sync_counters.run += st.clips.size();

  // Walk the held frames in order: a clip's result takes effect on the frame that carried it, so
  // earlier frames keep the previous result, exactly as with batch-size 1.
  size_t next_clip = 0;
  const auto apply_clips_of = [&](size_t buffer_index) {
    while (next_clip < st.clips.size() && st.clips[next_clip].buffer_index == buffer_index) {
      const hesp::gst::ClipJob& c = st.clips[next_clip].job;
      apply_result(st, s,
                   {c.track_id, c.clip_start(), c.clip_end(), c.n_real_frames,
                    std::move(results[next_clip])},
                   changes);
      ++next_clip;
    }
  };
  for (size_t i = 0; i < st.held.size(); ++i) {
    apply_clips_of(i);
    stamp(st, st.held[i]);
    ready->push_back(st.held[i]);
  }
  apply_clips_of(SIZE_MAX);  // end-of-stream clips: no frame left to stamp, messages only
  st.held.clear();
  st.clips.clear();
  return true;
}

static GstStructure* stats_structure(const State& st) {
  const hesp::gst::WorkerCounters c = st.worker ? st.worker->counters() : st.sync_counters;
  const char* mode = !st.mode_decided ? "undecided" : st.async ? "async" : "sync";
  GstStructure* stats = gst_structure_new(
      "hesp-infer-stats", "mode", G_TYPE_STRING, mode, "clips-queued", G_TYPE_UINT64, c.queued,
      "clips-run", G_TYPE_UINT64, c.run, "clips-dropped", G_TYPE_UINT64, c.dropped(),
      "clips-dropped-superseded", G_TYPE_UINT64, c.dropped_superseded, "clips-dropped-queue-full",
      G_TYPE_UINT64, c.dropped_queue_full, "clips-dropped-flush", G_TYPE_UINT64, c.dropped_flush,
      "runs", G_TYPE_UINT64, c.runs, "frames-encoded", G_TYPE_UINT64,
      st.model ? st.model->frames_computed() : 0, "frames-cached", G_TYPE_UINT64,
      st.model ? st.model->frames_reused() : 0, "last-run-ms", G_TYPE_DOUBLE,
      c.last_run_seconds * 1000.0, nullptr);
  if (st.instance && st.instance->shared()) {
    const hesp::gst::InstanceInfo info = hesp::gst::model_instance_info(st.instance->id());
    gst_structure_set(stats, "model-instance-id", G_TYPE_STRING, st.instance->id().c_str(),
                      "model-instance-users", G_TYPE_UINT, info.users, "model-instance-loads",
                      G_TYPE_UINT64, info.loads, nullptr);
  }
  return stats;
}

static GstFlowReturn push_ready(GstHespInfer* self, std::vector<GstBuffer*>& ready,
                                std::vector<hesp::gst::LabelChange>& changes,
                                GstStructure* stats = nullptr) {
  for (const auto& c : changes) post_label_change(self, c);
  if (stats) hesp::gst::post_element_message(GST_ELEMENT(self), stats);
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

// Fixes the schedule for this stream. For auto, `live` says whether upstream is live.
static void decide_mode(GstHespInfer* self, State& st, const Settings& s, bool live) {
  if (st.mode_decided) return;
  st.mode_decided = true;
  st.live = live;
  st.async = s.schedule == Schedule::kAsync || (s.schedule == Schedule::kAuto && live);
  if (st.async)
    st.worker = std::make_unique<hesp::gst::WorkerClient>(st.instance->worker(kWorkerNice),
                                                          st.threshold, s.max_queued_clips);
  GST_INFO_OBJECT(self, "schedule %s (upstream %slive)", st.async ? "async" : "sync",
                  live ? "" : "not ");
}

static bool upstream_is_live(GstHespInfer* self) {
  GstQuery* q = gst_query_new_latency();
  gboolean live = FALSE;
  if (gst_pad_peer_query(self->sinkpad, q)) gst_query_parse_latency(q, &live, nullptr, nullptr);
  gst_query_unref(q);
  return live;
}

static hesp::gst::ClipJob clip_job_of(const State& st, const GstHespClipMeta* meta) {
  hesp::gst::ClipJob job =
      hesp::gst::make_clip_job(meta->track_id, meta->frames, meta->n_frames, meta->n_real_frames,
                               meta->crop_size, meta->pts, meta->first_index);
  job.stream_tag = st.stream_tag;
  return job;
}

// async: logs drops like QoS, a summary at most every kDropWarningPeriod.
static void log_drops(GstHespInfer* self, State& st) {
  const hesp::gst::WorkerCounters c = st.worker->counters();
  const auto now = std::chrono::steady_clock::now();
  if (c.dropped() > st.drops_logged && now - st.last_drop_warning >= kDropWarningPeriod) {
    GST_WARNING_OBJECT(self,
                       "inference is slower than the stream: %" G_GUINT64_FORMAT
                       " clips dropped so far (%" G_GUINT64_FORMAT
                       " superseded by a newer clip "
                       "of their track, %" G_GUINT64_FORMAT " queue full, %" G_GUINT64_FORMAT
                       " flushed), %" G_GUINT64_FORMAT " run; last run %.0f ms",
                       c.dropped(), c.dropped_superseded, c.dropped_queue_full, c.dropped_flush,
                       c.run, c.last_run_seconds * 1000.0);
    st.drops_logged = c.dropped();
    st.last_drop_warning = now;
  }
}

// async: collects finished results, queues the buffer's clips, stamps the buffer. Returns false
// after posting the error when the worker has failed.
static bool chain_async(GstHespInfer* self, State& st, const Settings& s, GstBuffer* buffer,
                        std::vector<hesp::gst::LabelChange>* changes, GstStructure** stats) {
  const std::string failure = st.worker->failure();
  if (!failure.empty()) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Expression inference failed"),
                      ("%s", failure.c_str()));
    return false;
  }
  for (const auto& outcome : st.worker->take_results()) apply_result(st, s, outcome, changes);
  gpointer iter = nullptr;
  while (GstHespClipMeta* meta = gst_buffer_iterate_hesp_clip_meta(buffer, &iter))
    st.worker->submit(clip_job_of(st, meta));
  stamp(st, buffer);
  log_drops(self, st);
  // With post-messages, the counters once a second of stream time.
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (s.post_messages && GST_CLOCK_TIME_IS_VALID(pts) &&
      (!GST_CLOCK_TIME_IS_VALID(st.last_stats_pts) || pts >= st.last_stats_pts + GST_SECOND ||
       pts < st.last_stats_pts)) {
    st.last_stats_pts = pts;
    *stats = stats_structure(st);
  }
  return true;
}

static GstFlowReturn gst_hesp_infer_chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  auto* self = GST_HESP_INFER(parent);
  const Settings s = self->priv->settings.get();
  std::vector<GstBuffer*> ready;
  std::vector<hesp::gst::LabelChange> changes;
  GstStructure* stats = nullptr;
  bool relatency = false;
  const bool need_mode = !self->priv->lock_state()->mode_decided;
  // Asked without the state lock: upstream answers from its own threads and locks.
  const bool live = need_mode && upstream_is_live(self);
  {
    auto locked = self->priv->lock_state();
    State& st = *locked;
    if (locked.failed() || !st.model) {
      gst_buffer_unref(buffer);
      return GST_FLOW_ERROR;
    }
    decide_mode(self, st, s, live);
    buffer = gst_buffer_make_writable(buffer);
    if (st.async) {
      if (!chain_async(self, st, s, buffer, &changes, &stats)) {
        gst_buffer_unref(buffer);
        return locked.flow_return(false);
      }
      ready.push_back(buffer);
    } else {
      const size_t index = st.held.size();
      gpointer iter = nullptr;
      while (GstHespClipMeta* meta = gst_buffer_iterate_hesp_clip_meta(buffer, &iter)) {
        st.clips.push_back({clip_job_of(st, meta), index});
        ++st.sync_counters.queued;
      }
      st.held.push_back(buffer);
      // Run now when the batch is full, when frames have waited long enough, or when nothing
      // waits (then the frame only needs the tracks' current results).
      const bool run = st.clips.empty() || st.clips.size() >= std::max<guint>(1, s.batch_size) ||
                       st.held.size() >= std::max<guint>(1, s.max_batch_frames);
      if (run && !run_pending(self, st, s, &ready, &changes)) {
        drop_pending(st);
        return locked.flow_return(false);
      }
      // Live and sync, with a model slower than the latency reported so far: the pipeline must
      // ask again (sinks would otherwise drop the frames as late).
      if (st.live && st.longest_run > st.reported_run + st.reported_run / 4) {
        st.reported_run = st.longest_run;
        relatency = true;
      }
    }
  }
  if (relatency)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  return push_ready(self, ready, changes, stats);
}
// Clips that ended with the stream (from hespclipbatch's "hesp-clip" events). sync: they join
// the pending batch; async: they go to the worker. Either way their results can only be reported
// as messages.
static void add_event_clip(State& st, GstEvent* event) {
  guint track_id = 0, n_frames = 0, real = 0, crop_size = 0;
  GBytes* frames = nullptr;
  GstClockTime* pts = nullptr;
  guint64 first_index = 0;
  if (!gst_hesp_clip_event_parse(event, &track_id, &n_frames, &real, &crop_size, &frames, &pts,
                                 &first_index))
    return;
  hesp::gst::ClipJob job =
      hesp::gst::make_clip_job(track_id, frames, n_frames, real, crop_size, pts, first_index);
  job.stream_tag = st.stream_tag;
  g_bytes_unref(frames);
  g_free(pts);
  if (st.worker) {
    st.worker->submit(std::move(job));
  } else {
    st.clips.push_back({std::move(job), SIZE_MAX});
    ++st.sync_counters.queued;
  }
}

// async end of stream: waits for the worker to run every waiting clip, then reports the results
// (label-change messages; no frame is left to carry them).
static bool finish_async(GstHespInfer* self, const Settings& s,
                         std::vector<hesp::gst::LabelChange>* changes) {
  hesp::gst::WorkerClient* worker = nullptr;
  {
    auto st = self->priv->lock_state();
    worker = st->worker.get();
  }
  if (!worker) return true;
  // Without the state lock: the worker never takes it, and the stats property stays readable.
  // The worker outlives this call: it is destroyed only after the pads are deactivated.
  worker->drain();
  auto locked = self->priv->lock_state();
  State& st = *locked;
  const std::string failure = worker->failure();
  if (!failure.empty()) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Expression inference failed"),
                      ("%s", failure.c_str()));
    locked.set_failed();
    return false;
  }
  const auto results = worker->take_results();
  GST_DEBUG_OBJECT(self, "end of stream: %zu results after the last frame", results.size());
  for (const auto& outcome : results) apply_result(st, s, outcome, changes);
  return true;
}

static gboolean gst_hesp_infer_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  auto* self = GST_HESP_INFER(parent);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START:
      reset_stream(*self->priv->lock_state());
      break;
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
      bool async = false;
      {
        auto locked = self->priv->lock_state();
        State& st = *locked;
        async = st.async;
        if (gst_hesp_clip_event_is_clip(event) && st.model) add_event_clip(st, event);
        const bool flush_now = GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM ||
                               !gst_hesp_clip_event_is_clip(event);
        if (!async && flush_now && st.model && !locked.failed() &&
            (!st.held.empty() || !st.clips.empty()))
          ok = run_pending(self, st, s, &ready, &changes);
        if (!ok) {
          locked.set_failed();
          drop_pending(st);
        }
      }
      if (ok && async && GST_EVENT_TYPE(event) == GST_EVENT_EOS)
        ok = finish_async(self, s, &changes);
      push_ready(self, ready, changes);
      if (ok && GST_EVENT_TYPE(event) == GST_EVENT_EOS &&
          gst_debug_category_get_threshold(gst_hesp_infer_debug) >= GST_LEVEL_INFO) {
        GstStructure* stats = stats_structure(*self->priv->lock_state());
        GST_INFO_OBJECT(self, "end of stream: %" GST_PTR_FORMAT, stats);
        gst_structure_free(stats);
      }
      if (!ok) {
        gst_event_unref(event);
        return FALSE;
      }
      break;
    }
    default:
      break;
  }
  return gst_pad_event_default(pad, parent, event);
}

static GstClockTime frame_duration(GstHespInfer* self) {
  GstClockTime frame = GST_SECOND / 25;  // when the caps do not say
  if (GstCaps* caps = gst_pad_get_current_caps(self->sinkpad)) {
    GstVideoInfo info;
    if (gst_video_info_from_caps(&info, caps) && info.fps_n > 0)
      frame = gst_util_uint64_scale(GST_SECOND, info.fps_d, info.fps_n);
    gst_caps_unref(caps);
  }
  return frame;
}

// Latency: async adds nothing (frames pass at once; results say their own age). sync adds the
// frames a batch may hold back and the longest model run seen so far, since a frame leaves only
// after its clips have run.
static gboolean gst_hesp_infer_src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_HESP_INFER(parent);
  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    if (!gst_pad_peer_query(self->sinkpad, query)) return FALSE;
    const Settings s = self->priv->settings.get();
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    GstClockTime extra = 0;
    {
      auto st = self->priv->lock_state();
      if (st->model) decide_mode(self, *st, s, live);
      if (!st->async) {
        if (s.batch_size > 1) extra += frame_duration(self) * (s.max_batch_frames - 1);
        extra += st->longest_run;
        st->reported_run = st->longest_run;
      }
    }
    gst_query_set_latency(query, live, min + extra,
                          GST_CLOCK_TIME_IS_VALID(max) ? max + extra : max);
    GST_DEBUG_OBJECT(self, "latency: upstream %" GST_TIME_FORMAT " + ours %" GST_TIME_FORMAT,
                     GST_TIME_ARGS(min), GST_TIME_ARGS(extra));
    return TRUE;
  }
  return gst_pad_query_default(pad, parent, query);
}

static GstStateChangeReturn gst_hesp_infer_change_state(GstElement* element,
                                                        GstStateChange transition) {
  auto* self = GST_HESP_INFER(element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !start(self)) return GST_STATE_CHANGE_FAILURE;
  const GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    std::unique_ptr<hesp::gst::WorkerClient> worker;
    {
      auto st = self->priv->lock_state();
      drop_pending(*st);
      if (st->stamper) st->stamper->reset();
      if (st->model) {
        auto run_lock = st->instance->run_lock();
        st->model->clear_frame_cache();
      }
      worker = std::move(st->worker);
      st->mode_decided = false;
      st->async = false;
      st->longest_run = st->reported_run = 0;
      st.clear_failed();
    }
    worker.reset();  // may join the worker thread: without the state lock
  }
  if (transition == GST_STATE_CHANGE_READY_TO_NULL) stop(self);
  return ret;
}

static void gst_hesp_infer_finalize(GObject* object) {
  stop(GST_HESP_INFER(object));
  hesp::gst::finalize_private<GstHespInfer, gst_hesp_infer_get_type>(object);
}

// `stats` is read from the element's state, not its settings.
static GstStructure* read_stats(GstHespInfer* self) {
  return stats_structure(*self->priv->lock_state());
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
          enum_property("schedule", "Schedule",
                        "Where the model runs: sync (streaming thread; deterministic), async "
                        "(worker thread; frames never wait, results follow, late clips dropped) "
                        "or auto (async when upstream is live)",
                        GST_TYPE_HESP_INFER_SCHEDULE, &Settings::schedule),
          uint_property("max-queued-clips", "Maximum queued clips",
                        "async: clips waiting for the worker at most; when full, a new clip "
                        "replaces the oldest waiting clip of its track (else the oldest)",
                        1, 1024, &Settings::max_queued_clips),
          uint_property("frame-subsample", "Frame subsample",
                        "Look at every n-th frame of a track only, taken on the track's frame "
                        "grid so that overlapping clips share them; a clip shorter than n uses its "
                        "first frame (1 = all; kinds that read consecutive frames, such as "
                        "emoclip, refuse n > 1)",
                        1, 256, &Settings::frame_subsample),
          uint_property("frame-cache", "Frame cache",
                        "Per-frame model results kept so that overlapping clips of a track run "
                        "each frame once (frames; 0 = off)",
                        0, 1 << 20, &Settings::frame_cache),
          string_property("precision", "Precision",
                          "Kernel of CLIP-based packs: auto (the precision the pack's unknown "
                          "threshold was calibrated with, where this CPU runs it), fp32, or bf16 "
                          "(CPUs with AVX-512 BF16 only)",
                          &Settings::precision),
          string_property("pooling", "Frame pooling",
                          "How packs that classify each frame pool a clip's frames: auto (the "
                          "pack's choice, else sustained), mean, expressive (frames weighted by "
                          "how far they are from neutral), top-half, peak or sustained",
                          &Settings::pooling),
          string_property("model-instance-id", "Model instance id",
                          "Share one loaded model with every hespinfer in the process that names "
                          "the same id (empty = a model of this element's own): one copy of the "
                          "weights and frame cache, one inference worker that batches the async "
                          "elements' clips across streams, sync elements' runs taken in turn. "
                          "Elements of an id must agree on model, device, precision, pooling, "
                          "threads, extra-classes, frame-subsample and frame-cache",
                          &Settings::model_instance_id),
      });
  add_pad_templates(GST_ELEMENT_CLASS(klass), "video/x-raw(ANY)");
  GObjectClass* object_class = G_OBJECT_CLASS(klass);
  install_stats_property<GstHespInfer, read_stats>(
      object_class,
      "Counters (GstStructure hesp-infer-stats): mode, clips-queued, clips-run, "
      "clips-dropped (-superseded, -queue-full, -flush), runs, frames-encoded, "
      "frames-cached, last-run-ms (frames-encoded/-cached count the model's frames, those of "
      "every stream of a shared instance); with model-instance-id also "
      "model-instance-id, model-instance-users (elements holding it now) and "
      "model-instance-loads (times it was loaded in this process)");
  gst_type_mark_as_plugin_api(GST_TYPE_HESP_INFER_SCHEDULE, static_cast<GstPluginAPIFlags>(0));
  // Held buffers are unreffed before the private object goes.
  object_class->finalize = gst_hesp_infer_finalize;
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

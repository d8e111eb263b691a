// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-hespclipbatch
 * @title: hespclipbatch
 *
 * Cuts each face track (the face ROIs with an `object_id`, as hespfacecrop attaches them) into
 * clips of `clip-length` aligned square RGB crops. Every `frame-subsample`-th frame of a track is
 * sampled; consecutive clips start `clip-stride` sampled frames apart (stride < length overlaps,
 * stride > length leaves gaps). A clip is attached as a GstHespClipMeta to the buffer on which it
 * completes; its `first_index` says where its first frame lies among the track's sampled frames
 * (hespinfer's `frame-subsample` picks frames on that grid). When a track ends (absent for
 * `track-timeout` frames) or the stream ends, its partial clip is padded by repeating its last
 * frame if it holds at least `min-frames` frames, else dropped; partial clips at EOS travel
 * downstream in a "hesp-clip" custom event just before EOS.
 *
 * With `align=landmarks` or `align=eyes` the crop is placed by face-api's 68 landmarks
 * (hesp/face_alignment.h); `hesp run` sets this from the model pack's `input.alignment`. The
 * landmark net (`landmark-net`, tiny by default) runs on a track's first sampled face and on
 * every `align-interval`-th after it; in between the landmarks follow the tracked box.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespclipbatch clip-length=8 crop-size=112 ! fakesink
 * ]|
 */
#include "clipbatch/gsthespclipbatch.h"

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/element_class.h"
#include "common/element_state.h"
#include "common/face_roi.h"
#include "common/guard.h"
#include "common/property_table.h"
#include "common/video_image.h"
#include "hesp/error.h"
#include "hesp/face_alignment.h"
#include "hesp/face_clips.h"
#include "meta/gsthespclipmeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_clip_batch_debug);
#define GST_CAT_DEFAULT gst_hesp_clip_batch_debug

namespace {

// The properties are the core's clip settings, with the core's defaults.
using Settings = hesp::ClipConfig;

// A track's remembered landmarks, and the frame they were last used on (entries of tracks gone
// for a while are dropped, so the map stays as small as the set of live tracks).
struct TrackAlignment {
  hesp::TrackedLandmarks landmarks;
  std::uint64_t last_frame = 0;
};

struct State {
  std::unique_ptr<hesp::ClipAssembler> assembler;
  std::unique_ptr<hesp::FaceAligner> aligner;
  std::unordered_map<std::uint32_t, TrackAlignment> alignments;
  std::uint64_t frame = 0;
};

// Frames a track's landmarks are kept after it was last seen: longer than any track timeout that
// keeps the id alive across a detector miss.
constexpr std::uint64_t kForgetAlignmentAfter = 256;

using Private = hesp::gst::ElementData<Settings, State>;

// Hands the clip's pixels to a GBytes without copying them.
GBytes* frames_to_bytes(std::unique_ptr<hesp::Clip>& clip) {
  auto* owned = new std::vector<std::uint8_t>(std::move(clip->frames));
  return g_bytes_new_with_free_func(
      owned->data(), owned->size(),
      [](gpointer p) { delete static_cast<std::vector<std::uint8_t>*>(p); }, owned);
}

void attach(GstBuffer* buffer, std::unique_ptr<hesp::Clip> clip, gint roi_id) {
  const std::vector<std::uint64_t> pts = clip->pts;
  GBytes* frames = frames_to_bytes(clip);
  static_assert(sizeof(GstClockTime) == sizeof(std::uint64_t), "PTS layout");
  gst_buffer_add_hesp_clip_meta(
      buffer, clip->track_id, roi_id, clip->n_frames, clip->n_real_frames, clip->crop_size, frames,
      reinterpret_cast<const GstClockTime*>(pts.data()), clip->first_index);
  g_bytes_unref(frames);
}

}  // namespace

struct _GstHespClipBatch {
  GstVideoFilter parent;
  Private* priv;
};

#define gst_hesp_clip_batch_parent_class parent_class
G_DEFINE_TYPE(GstHespClipBatch, gst_hesp_clip_batch, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(hespclipbatch, "hespclipbatch", GST_RANK_NONE,
                            GST_TYPE_HESP_CLIP_BATCH);

#define GST_TYPE_HESP_CLIP_BATCH_ALIGN (gst_hesp_clip_batch_align_get_type())
#define GST_TYPE_HESP_CLIP_BATCH_LANDMARK_NET (gst_hesp_clip_batch_landmark_net_get_type())
static GType gst_hesp_clip_batch_landmark_net_get_type() {
  static const GEnumValue values[] = {
      {static_cast<gint>(hesp::LandmarkNet::kFull), "face_landmark_68_model (350 kB)", "full"},
      {static_cast<gint>(hesp::LandmarkNet::kTiny), "face_landmark_68_tiny_model (75 kB)", "tiny"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespClipBatchLandmarkNet", values);
  return type;
}

static GType gst_hesp_clip_batch_align_get_type() {
  static const GEnumValue values[] = {
      {static_cast<gint>(hesp::FaceAlignment::kNone), "The square around the face box", "none"},
      {static_cast<gint>(hesp::FaceAlignment::kLandmarks),
       "face-api's landmark box (alignedRect): the 68 landmarks' bounding box + 20 %, unrotated",
       "landmarks"},
      {static_cast<gint>(hesp::FaceAlignment::kEyes),
       "Rotated and scaled so that the eyes are level at fixed places", "eyes"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespClipBatchAlign", values);
  return type;
}

static gboolean gst_hesp_clip_batch_start(GstBaseTransform* trans) {
  auto* self = GST_HESP_CLIP_BATCH(trans);
  const hesp::ClipConfig config = self->priv->settings.get();
  State fresh;
  if (!HESP_GUARD(self, "Invalid clip settings",
                  [&] { fresh.assembler = std::make_unique<hesp::ClipAssembler>(config); }))
    return FALSE;
  // The landmark net loads here (NULL -> READY), never on the first frame.
  if (!HESP_GUARD(self, "Cannot load the face landmark net", [&] {
        fresh.aligner =
            std::make_unique<hesp::FaceAligner>(config.alignment, "", config.landmark_net);
      }))
    return FALSE;
  self->priv->start(std::move(fresh));
  return TRUE;
}

static void reset_clips(GstHespClipBatch* self) {
  auto st = self->priv->lock_state();
  if (st->assembler) st->assembler->reset();
  st->alignments.clear();
}

// Partial clips at the end of the stream have no later buffer to ride on: each goes downstream
// as a serialized "hesp-clip" event ahead of EOS.
static void push_partial_clips(GstHespClipBatch* self) {
  std::vector<std::unique_ptr<hesp::Clip>> clips;
  {
    auto st = self->priv->lock_state();
    if (!st->assembler) return;
    clips = st->assembler->finish_all();
  }
  for (auto& clip : clips) {
    const std::vector<std::uint64_t> pts = clip->pts;
    const guint track = clip->track_id, n = clip->n_frames, real = clip->n_real_frames,
                size = clip->crop_size;
    const guint64 first = clip->first_index;
    GBytes* frames = frames_to_bytes(clip);
    GstEvent* event = gst_hesp_clip_event_new(
        track, n, real, size, frames, reinterpret_cast<const GstClockTime*>(pts.data()), first);
    g_bytes_unref(frames);
    GST_DEBUG_OBJECT(self,
                     "end of stream: partial clip of track %u (%u/%u frames from sampled frame "
                     "%" G_GUINT64_FORMAT ")",
                     track, real, n, first);
    gst_pad_push_event(GST_BASE_TRANSFORM_SRC_PAD(self), event);
  }
}

static gboolean gst_hesp_clip_batch_sink_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_HESP_CLIP_BATCH(trans);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START:
      reset_clips(self);
      break;
    case GST_EVENT_EOS:
      push_partial_clips(self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static gboolean gst_hesp_clip_batch_set_info(GstVideoFilter* filter, GstCaps*, GstVideoInfo*,
                                             GstCaps*, GstVideoInfo*) {
  reset_clips(GST_HESP_CLIP_BATCH(filter));
  return TRUE;
}

static GstFlowReturn gst_hesp_clip_batch_transform_frame_ip(GstVideoFilter* filter,
                                                            GstVideoFrame* frame) {
  auto* self = GST_HESP_CLIP_BATCH(filter);
  auto locked = self->priv->lock_state();
  State& st = *locked;
  if (locked.failed() || !st.assembler || !st.aligner) return GST_FLOW_ERROR;
  GstBuffer* buffer = frame->buffer;
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  hesp::ClipAssembler& assembler = *st.assembler;
  const hesp::ClipConfig& config = assembler.config();

  const bool ok = HESP_GUARD(self, "Clip assembly failed", [&] {
    const hesp::ImageView view = hesp::gst::image_view_of(frame);
    assembler.begin_frame();
    for (const auto& face : hesp::gst::face_rois(buffer)) {
      if (face.track_id < 0) continue;
      const auto track = static_cast<std::uint32_t>(face.track_id);
      if (!assembler.wants_frame(track)) continue;
      hesp::FaceCrop crop;
      crop.size = config.crop_size;
      crop.rgb.resize(static_cast<std::size_t>(crop.size) * crop.size * 3);
      TrackAlignment& aligned = st.alignments[track];
      aligned.last_frame = st.frame;
      st.aligner->crop_tracked_into(view, face.box, crop.size, config.margin, config.align_interval,
                                    aligned.landmarks, crop.rgb.data());
      if (auto clip = assembler.add(track, pts, std::move(crop))) {
        GST_LOG_OBJECT(self,
                       "clip of track %u complete at %" GST_TIME_FORMAT
                       " (%d/%d frames from sampled frame %" G_GUINT64_FORMAT ")",
                       track, GST_TIME_ARGS(pts), clip->n_real_frames, clip->n_frames,
                       static_cast<guint64>(clip->first_index));
        attach(buffer, std::move(clip), face.meta->id);
      }
    }
    for (auto it = st.alignments.begin(); it != st.alignments.end();)
      it = st.frame - it->second.last_frame > kForgetAlignmentAfter ? st.alignments.erase(it)
                                                                    : std::next(it);
    ++st.frame;
    for (auto& clip : assembler.end_frame()) {
      GST_DEBUG_OBJECT(
          self,
          "track %u ended: partial clip of %d/%d frames from sampled frame %" G_GUINT64_FORMAT,
          clip->track_id, clip->n_real_frames, clip->n_frames,
          static_cast<guint64>(clip->first_index));
      attach(buffer, std::move(clip), -1);
    }
  });
  return locked.flow_return(ok);
}

static void gst_hesp_clip_batch_class_init(GstHespClipBatchClass* klass) {
  static const hesp::gst::ElementDoc doc{
      "hespclipbatch", "HESP face clip batcher", "Analyzer/Video",
      "Collects aligned face crops per track into fixed-length clips and attaches them as "
      "GstHespClipMeta. Example: gst-launch-1.0 filesrc location=movie.avi ! decodebin ! "
      "videoconvert ! hespfacecrop ! hespclipbatch clip-length=8 crop-size=112 ! fakesink"};
  using namespace hesp::gst;  // the property rows and flags
  init_video_filter_class<GstHespClipBatch, gst_hesp_clip_batch_get_type>(
      klass, doc, &gst_hesp_clip_batch_debug, GST_VIDEO_CAPS_MAKE(HESP_VIDEO_FORMATS),
      {gst_hesp_clip_batch_start, stop_state<GstHespClipBatch>, gst_hesp_clip_batch_sink_event,
       gst_hesp_clip_batch_set_info, gst_hesp_clip_batch_transform_frame_ip},
      {
          uint_property("clip-length", "Clip length", "Frames per clip (T)", 1, 256,
                        &Settings::clip_length),
          uint_property("frame-subsample", "Frame subsample",
                        "Sample every n-th frame of a track into its clips", 1, 100,
                        &Settings::frame_subsample),
          uint_property("clip-stride", "Clip stride",
                        "Sampled frames between the starts of consecutive clips of a track "
                        "(< clip-length: overlapping clips)",
                        1, 1024, &Settings::clip_stride),
          uint_property("min-frames", "Minimum frames",
                        "A track's partial clip at its end or at EOS is padded when it holds at "
                        "least this many frames, else dropped (0 = half of clip-length; must not "
                        "exceed clip-length)",
                        0, 256, &Settings::min_frames),
          uint_property("first-clip-frames", "First clip frames",
                        "A new track gets a first, padded clip once it has this many frames, so "
                        "its first result need not wait for a full clip (the result's "
                        "clip_frames says how many frames it saw; 0 = off; must not exceed "
                        "clip-length)",
                        0, 256, &Settings::first_clip_frames),
          uint_property("crop-size", "Crop size", "Side of the square RGB face crops, pixels", 8,
                        1024, &Settings::crop_size),
          double_property("margin", "Margin",
                          "Context around the face: the crop square's side is "
                          "max(w,h)·(1 + 2·margin)",
                          0.0, 2.0, &Settings::margin),
          enum_property("align", "Alignment",
                        "How crops are placed on the face: none (the square around the face box "
                        "grown by margin), landmarks (face-api's landmark box) or eyes (eyes "
                        "level at fixed places); the aligned kinds run face-api's 68-point "
                        "landmark net on every sampled face and ignore margin",
                        GST_TYPE_HESP_CLIP_BATCH_ALIGN, &Settings::alignment),
          uint_property("align-interval", "Alignment interval",
                        "The aligned kinds run the landmark net on a track's first sampled face "
                        "and every n-th after it; in between the last landmarks follow the "
                        "tracked box (1 = every sampled face)",
                        1, 1000, &Settings::align_interval),
          enum_property("landmark-net", "Landmark net",
                        "Which of face-api's 68-point landmark nets the aligned kinds run",
                        GST_TYPE_HESP_CLIP_BATCH_LANDMARK_NET, &Settings::landmark_net),
          uint_property("max-tracks", "Maximum tracks",
                        "Tracks buffered at once; the least recently seen is dropped first", 1,
                        1024, &Settings::max_tracks),
          uint_property("track-timeout", "Track timeout",
                        "Frames a track may be absent before its partial clip is finished", 0,
                        100000, &Settings::track_timeout),
      });
}

static void gst_hesp_clip_batch_init(GstHespClipBatch* self) { hesp::gst::init_in_place(self); }

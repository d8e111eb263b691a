// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-hespfacecrop
 * @title: hespfacecrop
 *
 * Finds faces, follows them from frame to frame and attaches one GstVideoRegionOfInterestMeta per
 * face (roi_type "face") with a `detection` and an `object_id` params structure. The id of a face
 * stays the same while it is tracked; a face lost for more than `track-timeout` frames comes back
 * with a new id. The pixels are never changed.
 *
 * Faces come from OpenCV's Haar cascade (default), from a user-supplied YuNet ONNX model, or from
 * face ROIs another element attached upstream (`detector=upstream`, e.g. after `facedetect`), which
 * then only get tracked.
 *
 * The `tracker` (default `bytetrack`) predicts every face's box with a constant-velocity Kalman
 * filter, so boxes follow a moving face on the frames between two detections, and keeps a track
 * going on weak detections (below the `sensitivity` threshold) that would not start one.
 *
 * With `reid=descriptor` every confident detection also gets face-api's face descriptor (the
 * landmark net finds face-api's landmark box, the face recognition net describes it), and the
 * tracker uses it: a face the detector missed, or that was hidden for up to `reid-memory` frames,
 * gets its id back when it shows up again within `reid-distance` of its track's descriptor, even
 * far from where it was lost; and no track continues onto a face farther than
 * `reid-gate-distance` from it (someone else).
 *
 * At a hard shot cut (the colour histogram of a frame differs from the previous frame's by at
 * least `cut-threshold`) every track ends, so no id or box crosses the cut, and the detector runs
 * on the cut frame. The element then posts an element message and sends a serialized custom
 * downstream event, both a `hesp-shot-cut` structure with `timestamp` (the PTS of the first frame
 * of the new shot, guint64) and `distance` (gdouble); the event travels just ahead of that frame.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop \
 *     detection-interval=3 ! hespclipbatch ! fakesink
 * ]|
 */
#include "facecrop/gsthespfacecrop.h"

#include <algorithm>
#include <memory>
#include <string>

#include "common/element_class.h"
#include "common/element_message.h"
#include "common/element_state.h"
#include "common/face_roi.h"
#include "common/guard.h"
#include "common/property_table.h"
#include "common/video_image.h"
#include "hesp/error.h"
#include "hesp/face_descriptor.h"
#include "hesp/face_detector.h"
#include "hesp/face_landmarks.h"
#include "hesp/shot_cut_detector.h"
#include "hesp/tracker.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_face_crop_debug);
#define GST_CAT_DEFAULT gst_hesp_face_crop_debug

namespace {

enum class Source { kHaar = 0, kYuNet = 1, kUpstream = 2, kFaceApi = 3 };

enum class Reid { kNone = 0, kDescriptor = 1 };

// ByteTrack's weak detections: the detector also returns candidates down to this fraction of the
// sensitivity's threshold (faceapi at sensitivity 0.7: scores 0.15..0.3; haar at 0.5: 3-4 instead
// of 5 neighbours). ByteTrack's paper pairs a high threshold of 0.6 with a low one of 0.1; half
// keeps the band narrower because face detectors' weak candidates are mostly background.
constexpr double kWeakFraction = 0.5;

// reid-gate-distance: face-api's same-person distance, as a double (the float constant would read
// back as 0.60000002).
constexpr double kGateDistance = 0.6;
static_assert(static_cast<float>(kGateDistance) == hesp::kFaceDescriptorMatchDistance);
// reid-distance: stricter, since nothing but looks supports a re-identification. On the tracking
// bench with hidden faces (docs/benchmarks.md) the same face came back 0.05-0.12 from its track,
// while a different person of the same photo was taken at 0.43 and 0.46; 0.3 and 0.4 made no
// switch, 0.6 one.
constexpr double kReidDistance = 0.4;

// Property values; the initialisers are the properties' defaults.
struct Settings {
  Source source = Source::kHaar;
  std::string model;
  guint interval = 1;
  guint min_face_size = 30;
  guint max_faces = 32;
  double sensitivity = 0.5;
  double scale_factor = 1.1;
  double detection_scale = 1.0;
  double margin = 0.0;
  // 1.2 s at 25 fps (ByteTrack keeps lost tracks for 30 frames too): a face the detector misses
  // for a second (turned away, hidden) keeps its id; measured in docs/benchmarks.md.
  guint track_timeout = 30;
  double iou_threshold = 0.3;
  guint input_size = 512;
  hesp::TrackerKind tracker = hesp::TrackerKind::kSort;
  double cut_threshold = hesp::ShotCutOptions{}.threshold;
  Reid reid = Reid::kNone;
  double reid_distance = kReidDistance;
  double reid_gate_distance = kGateDistance;
  // 3 s at 25 fps: a face behind someone passing by, or out of a pan and back, is gone that long.
  guint reid_memory = 75;
  std::string reid_models;
};

// Runtime state, built in start() and dropped in stop().
struct State {
  std::unique_ptr<hesp::FaceDetector> detector;
  std::unique_ptr<hesp::Tracker> tracker;
  std::unique_ptr<hesp::ShotCutDetector> cuts;  // null with cut-threshold=0
  // reid=descriptor: face-api's landmark and face recognition nets; null otherwise.
  std::unique_ptr<hesp::FaceLandmarker> landmarker;
  std::unique_ptr<hesp::FaceDescriber> describer;
  float descriptor_confidence = 0.f;  // detections at or above this get a descriptor
  guint64 frame_index = 0;
};

// A cut found on a frame, announced once the state lock is released.
struct CutFound {
  bool found = false;
  double distance = 0.0;
  GstClockTime timestamp = GST_CLOCK_TIME_NONE;
};

using Private = hesp::gst::ElementData<Settings, State>;

}  // namespace

struct _GstHespFaceCrop {
  GstVideoFilter parent;
  Private* priv;
};

GType gst_hesp_detector_get_type(void) {
  static const GEnumValue values[] = {
      {static_cast<gint>(Source::kHaar),
       "OpenCV Haar cascade (detector-model = cascade XML, "
       "empty = opencv-data frontal face)",
       "haar"},
      {static_cast<gint>(Source::kYuNet), "OpenCV DNN YuNet (detector-model = ONNX file)", "yunet"},
      {static_cast<gint>(Source::kUpstream), "Face ROIs attached upstream (only track them)",
       "upstream"},
      {static_cast<gint>(Source::kFaceApi),
       "face-api.js TinyFaceDetector CNN (detector-model = its weights manifest, empty = the "
       "copy downloaded by setup)",
       "faceapi"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespDetector", values);
  return type;
}

GType gst_hesp_reid_get_type(void) {
  static const GEnumValue values[] = {
      {static_cast<gint>(Reid::kNone), "Faces are followed by their boxes only", "none"},
      {static_cast<gint>(Reid::kDescriptor),
       "face-api's face descriptor of every confident detection re-identifies lost faces and "
       "keeps tracks off other people (reid-models = the weights folder, empty = the copy "
       "downloaded by setup)",
       "descriptor"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespReid", values);
  return type;
}

GType gst_hesp_tracker_get_type(void) {
  static const GEnumValue values[] = {
      {static_cast<gint>(hesp::TrackerKind::kIou),
       "Greedy IoU matching; boxes stand still between detections", "iou"},
      {static_cast<gint>(hesp::TrackerKind::kSort), "Kalman-predicted boxes matched by IoU (SORT)",
       "sort"},
      {static_cast<gint>(hesp::TrackerKind::kByteTrack),
       "SORT with a second matching stage for weak detections (ByteTrack)", "bytetrack"},
      {0, nullptr, nullptr}};
  static const GType type = hesp::gst::register_enum("GstHespTracker", values);
  return type;
}

#define gst_hesp_face_crop_parent_class parent_class
G_DEFINE_TYPE(GstHespFaceCrop, gst_hesp_face_crop, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(hespfacecrop, "hespfacecrop", GST_RANK_NONE, GST_TYPE_HESP_FACE_CROP);

static gboolean gst_hesp_face_crop_start(GstBaseTransform* trans) {
  auto* self = GST_HESP_FACE_CROP(trans);
  const Settings s = self->priv->settings.get();
  State fresh;
  bool ok = HESP_GUARD(self, "Could not load the face detector", [&] {
    if (s.source != Source::kUpstream) {
      hesp::DetectorConfig config;
      config.kind = s.source == Source::kYuNet     ? hesp::DetectorKind::kYuNet
                    : s.source == Source::kFaceApi ? hesp::DetectorKind::kFaceApiTiny
                                                   : hesp::DetectorKind::kHaar;
      config.model_path = s.model;
      config.min_face_size = static_cast<int>(s.min_face_size);
      config.input_scale = s.detection_scale;
      config.input_size = static_cast<int>(s.input_size);
      config.sensitivity = s.sensitivity;
      config.scale_factor = s.scale_factor;
      config.max_faces = static_cast<int>(s.max_faces);
      if (s.tracker == hesp::TrackerKind::kByteTrack) config.weak_fraction = kWeakFraction;
      fresh.detector = hesp::make_face_detector(config);
    }
    hesp::TrackerConfig tc;
    // Upstream ROIs carry no comparable confidence: all of them count as confident.
    tc.high_confidence = fresh.detector ? fresh.detector->confidence_threshold() : 0.f;
    tc.iou_threshold = static_cast<float>(s.iou_threshold);
    // A track must survive the frames between two detections.
    tc.timeout_frames = static_cast<int>(std::max(s.track_timeout, s.interval));
    tc.max_tracks = s.max_faces > 0 ? static_cast<int>(s.max_faces) : 1024;
    if (s.reid == Reid::kDescriptor) {
      fresh.descriptor_confidence = tc.high_confidence;
      tc.reid_max_distance = static_cast<float>(s.reid_distance);
      // The memory only lengthens the timeout: lost faces are still tracks, and a shorter
      // memory would end them before track-timeout does.
      tc.reid_memory_frames = static_cast<int>(std::max(s.reid_memory, s.track_timeout));
      // The gate has the boxes' overlap on its side too: face-api's own threshold suffices.
      tc.min_appearance_similarity =
          hesp::similarity_at_distance(static_cast<float>(s.reid_gate_distance));
    }
    fresh.tracker = hesp::make_tracker(s.tracker, tc);
    if (s.cut_threshold > 0.0)
      fresh.cuts = std::make_unique<hesp::ShotCutDetector>(hesp::ShotCutOptions{s.cut_threshold});
  });
  if (ok && s.reid == Reid::kDescriptor) {
    ok = HESP_GUARD(self, "Could not load the re-identification nets", [&] {
      // face-api's own pipeline (withFaceLandmarks().withFaceDescriptors()): the descriptor of
      // the landmark box, steadier than the detector's box, which is what 0.6 is meant for.
      fresh.landmarker = hesp::FaceLandmarker::load(s.reid_models);
      fresh.describer = hesp::FaceDescriber::load(s.reid_models);
    });
  }
  if (!ok) return FALSE;
  GST_INFO_OBJECT(self, "using %s, tracker %s, re-identification %s",
                  fresh.detector ? fresh.detector->name().c_str() : "upstream face ROIs",
                  hesp::tracker_kind_name(s.tracker),
                  fresh.describer ? fresh.describer->name().c_str() : "off");
  self->priv->start(std::move(fresh));
  return TRUE;
}

static void reset_tracks(GstHespFaceCrop* self) {
  auto st = self->priv->lock_state();
  if (st->tracker) st->tracker->reset();
  if (st->cuts) st->cuts->reset();
  st->frame_index = 0;
}

static gboolean gst_hesp_face_crop_sink_event(GstBaseTransform* trans, GstEvent* event) {
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START:
      reset_tracks(GST_HESP_FACE_CROP(trans));
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static gboolean gst_hesp_face_crop_set_info(GstVideoFilter* filter, GstCaps*, GstVideoInfo*,
                                            GstCaps*, GstVideoInfo*) {
  // New geometry: boxes of the old stream mean nothing in the new one.
  reset_tracks(GST_HESP_FACE_CROP(filter));
  return TRUE;
}

// Detections on this frame: from the detector, or from face ROIs that upstream attached.
static std::vector<hesp::Detection> detect(State& st, GstVideoFrame* frame,
                                           const std::vector<hesp::gst::FaceRoi>& upstream) {
  std::vector<hesp::Detection> out;
  const hesp::ImageView view = hesp::gst::image_view_of(frame);
  if (st.detector) {
    out = st.detector->detect(view);
  } else {
    for (const auto& roi : upstream) out.push_back(hesp::Detection{roi.box, 1.0f});
  }
  if (st.describer) {
    // The nets need at least one whole pixel of the box inside the frame.
    auto has_pixels = [&](const hesp::Box& box) {
      const hesp::Box in = hesp::clip_to_frame(box, view.width, view.height);
      return in.width >= 1.f && in.height >= 1.f;
    };
    for (auto& d : out) {
      // Weak detections only continue tracks by their boxes and are mostly background: not worth
      // the recognition net's time.
      if (d.confidence < st.descriptor_confidence || !has_pixels(d.box)) continue;
      const hesp::Box aligned = hesp::landmark_box(st.landmarker->locate(view, d.box));
      d.embedding = st.describer->describe(view, has_pixels(aligned) ? aligned : d.box);
    }
  }
  return out;
}

static GstFlowReturn track_frame(GstHespFaceCrop* self, GstVideoFrame* frame, CutFound& cut) {
  const Settings s = self->priv->settings.get();
  auto locked = self->priv->lock_state();
  State& st = *locked;
  if (locked.failed() || !st.tracker) return GST_FLOW_ERROR;

  GstBuffer* buffer = frame->buffer;
  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  const bool from_upstream = st.detector == nullptr;
  std::vector<hesp::gst::FaceRoi> upstream;
  if (from_upstream) {
    for (auto& roi : hesp::gst::face_rois(buffer)) {
      if (roi.track_id < 0) upstream.push_back(roi);
    }
  }
  const bool ok = HESP_GUARD(self, "Face detection failed", [&] {
    if (st.cuts) {
      const hesp::ShotCutResult r = st.cuts->next(hesp::gst::image_view_of(frame));
      if (r.cut) {
        // The ended tracks leave as timed-out ones do: their ROIs stop, and hespclipbatch closes
        // their clips by its track-timeout. Detection restarts its interval on the cut frame.
        const auto ended = st.tracker->end_all();
        st.frame_index = 0;
        cut = CutFound{true, r.distance, GST_BUFFER_PTS(buffer)};
        GST_DEBUG_OBJECT(self, "shot cut at %" GST_TIME_FORMAT " (distance %.3f): %zu tracks end",
                         GST_TIME_ARGS(cut.timestamp), r.distance, ended.size());
      }
    }
    const bool detect_now = from_upstream || st.frame_index % std::max(1u, s.interval) == 0;
    ++st.frame_index;
    if (detect_now) {
      st.tracker->update(detect(st, frame, upstream));
    } else {
      st.tracker->carry();
    }
  });
  if (!ok) return locked.flow_return(false);

  if (from_upstream) {
    // Give upstream's ROIs their track ids (a track matched on this frame has the same box).
    for (const auto& t : st.tracker->tracks()) {
      if (t.frames_since_seen != 0 || t.detection_index < 0) continue;
      // Detections were made from `upstream` in order, so the matched index is the ROI's.
      {
        auto& roi = upstream.at(static_cast<size_t>(t.detection_index));
        if (roi.track_id < 0) {
          roi.track_id = static_cast<gint>(t.id);
          roi.meta->id = roi.track_id;
          gst_video_region_of_interest_meta_add_param(
              roi.meta, gst_structure_new("object_id", "id", G_TYPE_INT, roi.track_id, nullptr));
          if (!gst_video_region_of_interest_meta_get_param(roi.meta, "detection")) {
            const double fw = width, fh = height;
            gst_video_region_of_interest_meta_add_param(
                roi.meta, gst_structure_new(
                              "detection", "x_min", G_TYPE_DOUBLE, roi.box.x / fw, "y_min",
                              G_TYPE_DOUBLE, roi.box.y / fh, "x_max", G_TYPE_DOUBLE,
                              (roi.box.x + roi.box.width) / fw, "y_max", G_TYPE_DOUBLE,
                              (roi.box.y + roi.box.height) / fh, "confidence", G_TYPE_DOUBLE, 1.0,
                              "label_id", G_TYPE_INT, 0, "label", G_TYPE_STRING, "face", nullptr));
          }
        }
      }
    }
    return GST_FLOW_OK;
  }

  // A track stays alive (and keeps its id) for track-timeout frames, but its box is only shown
  // while it is fresh: carried over the frames between two detections and through one missed
  // detection, not for the whole timeout, where it would hang over a face that is gone. A lost
  // track (kept for reid only) is never shown, even with a track-timeout shorter than that.
  const int visible_frames = 2 * static_cast<int>(std::max(1u, s.interval)) + 1;
  for (const auto& t : st.tracker->tracks()) {
    if (t.lost || t.frames_since_seen >= visible_frames) continue;
    hesp::Box box = t.box;
    if (s.margin > 0.0) {
      const float dx = box.width * static_cast<float>(s.margin);
      const float dy = box.height * static_cast<float>(s.margin);
      box = hesp::Box{box.x - dx, box.y - dy, box.width + 2 * dx, box.height + 2 * dy};
    }
    if (hesp::clip_to_frame(box, width, height).area() <= 0.f) continue;
    hesp::gst::add_face_roi(buffer, box, t.confidence, t.id, width, height);
  }
  return GST_FLOW_OK;
}

static GstStructure* shot_cut_structure(const CutFound& cut) {
  return gst_structure_new("hesp-shot-cut", "timestamp", G_TYPE_UINT64,
                           static_cast<guint64>(cut.timestamp), "distance", G_TYPE_DOUBLE,
                           cut.distance, nullptr);
}

static GstFlowReturn gst_hesp_face_crop_transform_frame_ip(GstVideoFilter* filter,
                                                           GstVideoFrame* frame) {
  auto* self = GST_HESP_FACE_CROP(filter);
  CutFound cut;
  const GstFlowReturn ret = track_frame(self, frame, cut);
  if (cut.found) {
    // Outside the state lock: downstream may answer the event with queries of its own. The
    // event is pushed before this frame's buffer, so it marks where the new shot starts.
    hesp::gst::post_element_message(GST_ELEMENT(self), shot_cut_structure(cut));
    gst_pad_push_event(GST_BASE_TRANSFORM_SRC_PAD(self),
                       gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, shot_cut_structure(cut)));
  }
  return ret;
}

static void gst_hesp_face_crop_class_init(GstHespFaceCropClass* klass) {
  static const hesp::gst::ElementDoc doc{
      "hespfacecrop", "HESP face detector and tracker", "Analyzer/Video",
      "Detects faces and tracks them with stable ids; attaches a face "
      "GstVideoRegionOfInterestMeta per face. Example: gst-launch-1.0 filesrc location=movie.avi "
      "! decodebin ! videoconvert ! hespfacecrop detection-interval=3 ! hespclipbatch ! fakesink"};
  using namespace hesp::gst;  // the property rows and flags
  init_video_filter_class<GstHespFaceCrop, gst_hesp_face_crop_get_type>(
      klass, doc, &gst_hesp_face_crop_debug, GST_VIDEO_CAPS_MAKE(HESP_VIDEO_FORMATS),
      {gst_hesp_face_crop_start, stop_state<GstHespFaceCrop>, gst_hesp_face_crop_sink_event,
       gst_hesp_face_crop_set_info, gst_hesp_face_crop_transform_frame_ip},
      {
          enum_property("detector", "Detector", "Where faces come from", GST_TYPE_HESP_DETECTOR,
                        &Settings::source),
          string_property("detector-model", "Detector model",
                          "Haar cascade XML (detector=haar; empty = opencv-data's "
                          "haarcascade_frontalface_default.xml), ONNX file (detector=yunet) or "
                          "weights manifest JSON (detector=faceapi)",
                          &Settings::model),
          uint_property("detection-interval", "Detection interval",
                        "Run the detector on every n-th frame; boxes are carried in between", 1,
                        1000, &Settings::interval, kMutablePlaying),
          uint_property("min-face-size", "Minimum face size",
                        "Smallest face side searched for, in frame pixels", 4, 4096,
                        &Settings::min_face_size),
          uint_property("max-faces", "Maximum faces",
                        "Faces kept per frame, largest first (0 = no limit)", 0, 1024,
                        &Settings::max_faces),
          double_property("sensitivity", "Sensitivity",
                          "Detector sensitivity: higher finds more faces and more false ones "
                          "(Haar: fewer neighbours needed; YuNet: lower score threshold)",
                          0.0, 1.0, &Settings::sensitivity),
          double_property("scale-factor", "Scale factor",
                          "Haar: scale step between pyramid levels (smaller = slower, finds more)",
                          1.01, 2.0, &Settings::scale_factor),
          double_property("detection-scale", "Detection scale",
                          "Run the detector on the frame scaled by this factor (faster on large "
                          "frames); boxes are reported in frame pixels",
                          0.1, 1.0, &Settings::detection_scale),
          double_property("margin", "Margin",
                          "Grow each face box by this fraction of its size on every side", 0.0, 1.0,
                          &Settings::margin, kMutablePlaying),
          uint_property("track-timeout", "Track timeout",
                        "Frames a face may go undetected before its track ends (a face seen again "
                        "later gets a new id)",
                        0, 100000, &Settings::track_timeout),
          double_property("iou-threshold", "IoU threshold",
                          "Minimum overlap for a detection to continue a track", 0.01, 1.0,
                          &Settings::iou_threshold),
          enum_property("tracker", "Tracker",
                        "How faces are followed between frames (see the enum's values)",
                        GST_TYPE_HESP_TRACKER, &Settings::tracker),
          double_property("cut-threshold", "Shot-cut threshold",
                          "Colour-histogram distance between consecutive frames (0..1) from which "
                          "a frame counts as a hard shot cut: every track ends there (0 = off)",
                          0.0, 1.0, &Settings::cut_threshold),
          uint_property("detector-input-size", "Detector input size",
                        "detector=faceapi: side of the square the frame is fitted into for the "
                        "network, a multiple of 32 (larger finds smaller and turned faces, slower)",
                        32, 2048, &Settings::input_size),
          enum_property("reid", "Re-identification",
                        "Whether faces are also recognised by their looks, so a face lost for a "
                        "while keeps its id (see the enum's values)",
                        GST_TYPE_HESP_REID, &Settings::reid),
          double_property("reid-distance", "Re-identification distance",
                          "reid=descriptor: largest face-descriptor distance at which a lost face "
                          "gets its id back, wherever it shows up",
                          0.05, 2.0, &Settings::reid_distance),
          double_property("reid-gate-distance", "Re-identification gate distance",
                          "reid=descriptor: a track never continues onto a face whose descriptor "
                          "lies farther from it than this, however well the boxes overlap "
                          "(face-api's same-person distance 0.6)",
                          0.05, 2.0, &Settings::reid_gate_distance),
          uint_property("reid-memory", "Re-identification memory",
                        "reid=descriptor: frames a lost face is remembered (at least "
                        "track-timeout) and gets its id back when it shows up again in the shot",
                        0, 100000, &Settings::reid_memory),
          string_property("reid-models", "Re-identification models",
                          "reid=descriptor: folder with face-api's face_landmark_68_model and "
                          "face_recognition_model weights (empty = the copy downloaded by setup)",
                          &Settings::reid_models),
      });
  gst_type_mark_as_plugin_api(GST_TYPE_HESP_DETECTOR, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_HESP_TRACKER, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_HESP_REID, static_cast<GstPluginAPIFlags>(0));
}

static void gst_hesp_face_crop_init(GstHespFaceCrop* self) {
  // ROIs are metadata: the frame is only read, never written.
  hesp::gst::init_in_place(self);
}

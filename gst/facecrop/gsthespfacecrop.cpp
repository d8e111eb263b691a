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
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop \
 *     detection-interval=3 ! hespclipbatch ! fakesink
 * ]|
 */
#include "facecrop/gsthespfacecrop.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

#include "common/face_roi.h"
#include "common/guard.h"
#include "common/video_image.h"
#include "hesp/error.h"
#include "hesp/face_detector.h"
#include "hesp/tracker.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_face_crop_debug);
#define GST_CAT_DEFAULT gst_hesp_face_crop_debug

namespace {

enum class Source { kHaar = 0, kYuNet = 1, kUpstream = 2, kFaceApi = 3 };

constexpr guint kDefaultInterval = 1;
constexpr guint kDefaultMinFaceSize = 30;
constexpr guint kDefaultMaxFaces = 32;
constexpr double kDefaultSensitivity = 0.5;
constexpr double kDefaultScaleFactor = 1.1;
constexpr double kDefaultDetectionScale = 1.0;
constexpr double kDefaultMargin = 0.0;
constexpr guint kDefaultTrackTimeout = 15;
constexpr double kDefaultIou = 0.3;
constexpr guint kDefaultInputSize = 512;

struct Settings {
  Source source = Source::kHaar;
  std::string model;
  guint interval = kDefaultInterval;
  guint min_face_size = kDefaultMinFaceSize;
  guint max_faces = kDefaultMaxFaces;
  double sensitivity = kDefaultSensitivity;
  double scale_factor = kDefaultScaleFactor;
  double detection_scale = kDefaultDetectionScale;
  double margin = kDefaultMargin;
  guint track_timeout = kDefaultTrackTimeout;
  double iou_threshold = kDefaultIou;
  guint input_size = kDefaultInputSize;
};

// Runtime state, built in start() and dropped in stop().
struct State {
  std::unique_ptr<hesp::FaceDetector> detector;
  std::unique_ptr<hesp::IouTracker> tracker;
  guint64 frame_index = 0;
  bool failed = false;
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  std::mutex state_lock;
  State state;
};

}  // namespace

struct _GstHespFaceCrop {
  GstVideoFilter parent;
  Private* priv;
};

enum {
  PROP_0,
  PROP_DETECTOR,
  PROP_DETECTOR_MODEL,
  PROP_DETECTION_INTERVAL,
  PROP_MIN_FACE_SIZE,
  PROP_MAX_FACES,
  PROP_SENSITIVITY,
  PROP_SCALE_FACTOR,
  PROP_DETECTION_SCALE,
  PROP_MARGIN,
  PROP_TRACK_TIMEOUT,
  PROP_IOU_THRESHOLD,
  PROP_DETECTOR_INPUT_SIZE,
};

GType gst_hesp_detector_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(Source::kHaar), "OpenCV Haar cascade (detector-model = cascade XML, "
                                         "empty = opencv-data frontal face)", "haar"},
      {static_cast<gint>(Source::kYuNet), "OpenCV DNN YuNet (detector-model = ONNX file)",
       "yunet"},
      {static_cast<gint>(Source::kUpstream), "Face ROIs attached upstream (only track them)",
       "upstream"},
      {static_cast<gint>(Source::kFaceApi),
       "face-api.js TinyFaceDetector CNN (detector-model = its weights manifest, empty = the "
       "copy downloaded by setup)",
       "faceapi"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstHespDetector", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

#define gst_hesp_face_crop_parent_class parent_class
G_DEFINE_TYPE(GstHespFaceCrop, gst_hesp_face_crop, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(hespfacecrop, "hespfacecrop", GST_RANK_NONE, GST_TYPE_HESP_FACE_CROP);

static Settings settings_of(GstHespFaceCrop* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

static void gst_hesp_face_crop_set_property(GObject* object, guint prop_id, const GValue* value,
                                            GParamSpec* pspec) {
  auto* self = GST_HESP_FACE_CROP(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  Settings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_DETECTOR: s.source = static_cast<Source>(g_value_get_enum(value)); break;
    case PROP_DETECTOR_MODEL: {
      const gchar* v = g_value_get_string(value);
      s.model = v ? v : "";
      break;
    }
    case PROP_DETECTION_INTERVAL: s.interval = g_value_get_uint(value); break;
    case PROP_MIN_FACE_SIZE: s.min_face_size = g_value_get_uint(value); break;
    case PROP_MAX_FACES: s.max_faces = g_value_get_uint(value); break;
    case PROP_SENSITIVITY: s.sensitivity = g_value_get_double(value); break;
    case PROP_SCALE_FACTOR: s.scale_factor = g_value_get_double(value); break;
    case PROP_DETECTION_SCALE: s.detection_scale = g_value_get_double(value); break;
    case PROP_MARGIN: s.margin = g_value_get_double(value); break;
    case PROP_TRACK_TIMEOUT: s.track_timeout = g_value_get_uint(value); break;
    case PROP_IOU_THRESHOLD: s.iou_threshold = g_value_get_double(value); break;
    case PROP_DETECTOR_INPUT_SIZE: s.input_size = g_value_get_uint(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

static void gst_hesp_face_crop_get_property(GObject* object, guint prop_id, GValue* value,
                                            GParamSpec* pspec) {
  auto* self = GST_HESP_FACE_CROP(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_DETECTOR: g_value_set_enum(value, static_cast<gint>(s.source)); break;
    case PROP_DETECTOR_MODEL: g_value_set_string(value, s.model.c_str()); break;
    case PROP_DETECTION_INTERVAL: g_value_set_uint(value, s.interval); break;
    case PROP_MIN_FACE_SIZE: g_value_set_uint(value, s.min_face_size); break;
    case PROP_MAX_FACES: g_value_set_uint(value, s.max_faces); break;
    case PROP_SENSITIVITY: g_value_set_double(value, s.sensitivity); break;
    case PROP_SCALE_FACTOR: g_value_set_double(value, s.scale_factor); break;
    case PROP_DETECTION_SCALE: g_value_set_double(value, s.detection_scale); break;
    case PROP_MARGIN: g_value_set_double(value, s.margin); break;
    case PROP_TRACK_TIMEOUT: g_value_set_uint(value, s.track_timeout); break;
    case PROP_IOU_THRESHOLD: g_value_set_double(value, s.iou_threshold); break;
    case PROP_DETECTOR_INPUT_SIZE: g_value_set_uint(value, s.input_size); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

static gboolean gst_hesp_face_crop_start(GstBaseTransform* trans) {
  auto* self = GST_HESP_FACE_CROP(trans);
  const Settings s = settings_of(self);
  State fresh;
  const bool ok = HESP_GUARD(self, "Could not load the face detector", [&] {
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
      fresh.detector = hesp::make_face_detector(config);
    }
    hesp::TrackerConfig tc;
    tc.iou_threshold = static_cast<float>(s.iou_threshold);
    // A track must survive the frames between two detections.
    tc.timeout_frames = static_cast<int>(std::max(s.track_timeout, s.interval));
    tc.max_tracks = s.max_faces > 0 ? static_cast<int>(s.max_faces) : 1024;
    fresh.tracker = std::make_unique<hesp::IouTracker>(tc);
  });
  if (!ok) return FALSE;
  GST_INFO_OBJECT(self, "using %s",
                  fresh.detector ? fresh.detector->name().c_str() : "upstream face ROIs");
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  self->priv->state = std::move(fresh);
  return TRUE;
}

static gboolean gst_hesp_face_crop_stop(GstBaseTransform* trans) {
  auto* self = GST_HESP_FACE_CROP(trans);
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  self->priv->state = State{};
  return TRUE;
}

static void reset_tracks(GstHespFaceCrop* self) {
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  if (self->priv->state.tracker) self->priv->state.tracker->reset();
  self->priv->state.frame_index = 0;
}

static gboolean gst_hesp_face_crop_sink_event(GstBaseTransform* trans, GstEvent* event) {
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START: reset_tracks(GST_HESP_FACE_CROP(trans)); break;
    default: break;
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
  if (!st.detector) {
    for (const auto& roi : upstream) out.push_back(hesp::Detection{roi.box, 1.0f});
    return out;
  }
  return st.detector->detect(hesp::gst::image_view_of(frame));
}

static GstFlowReturn gst_hesp_face_crop_transform_frame_ip(GstVideoFilter* filter,
                                                           GstVideoFrame* frame) {
  auto* self = GST_HESP_FACE_CROP(filter);
  const Settings s = settings_of(self);
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  State& st = self->priv->state;
  if (st.failed || !st.tracker) return GST_FLOW_ERROR;

  GstBuffer* buffer = frame->buffer;
  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  const bool from_upstream = st.detector == nullptr;
  std::vector<hesp::gst::FaceRoi> upstream;
  if (from_upstream) {
    for (auto& roi : hesp::gst::face_rois(buffer)) {
      if (roi.track_id < 0) upstream.push_back(roi);
    }
  }
  const bool detect_now = from_upstream || st.frame_index % std::max(1u, s.interval) == 0;
  ++st.frame_index;

  const bool ok = HESP_GUARD(self, "Face detection failed", [&] {
    if (detect_now) {
      st.tracker->update(detect(st, frame, upstream));
    } else {
      st.tracker->carry();
    }
  });
  if (!ok) {
    st.failed = true;
    return GST_FLOW_ERROR;
  }

  if (from_upstream) {
    // Give upstream's ROIs their track ids (a track matched on this frame has the same box).
    for (const auto& t : st.tracker->tracks()) {
      if (t.frames_since_seen != 0) continue;
      for (auto& roi : upstream) {
        if (roi.box.x == t.box.x && roi.box.y == t.box.y && roi.box.width == t.box.width &&
            roi.box.height == t.box.height && roi.track_id < 0) {
          roi.track_id = static_cast<gint>(t.id);
          roi.meta->id = roi.track_id;
          gst_video_region_of_interest_meta_add_param(
              roi.meta, gst_structure_new("object_id", "id", G_TYPE_INT, roi.track_id, nullptr));
          if (!gst_video_region_of_interest_meta_get_param(roi.meta, "detection")) {
            const double fw = width, fh = height;
            gst_video_region_of_interest_meta_add_param(
                roi.meta,
                gst_structure_new("detection", "x_min", G_TYPE_DOUBLE, roi.box.x / fw, "y_min",
                                  G_TYPE_DOUBLE, roi.box.y / fh, "x_max", G_TYPE_DOUBLE,
                                  (roi.box.x + roi.box.width) / fw, "y_max", G_TYPE_DOUBLE,
                                  (roi.box.y + roi.box.height) / fh, "confidence", G_TYPE_DOUBLE,
                                  1.0, "label_id", G_TYPE_INT, 0, "label", G_TYPE_STRING, "face",
                                  nullptr));
          }
          break;
        }
      }
    }
    return GST_FLOW_OK;
  }

  // A track stays alive (and keeps its id) for track-timeout frames, but its box is only shown
  // while it is fresh: carried over the frames between two detections and through one missed
  // detection, not for the whole timeout, where it would hang over a face that is gone.
  const int visible_frames = 2 * static_cast<int>(std::max(1u, s.interval)) + 1;
  for (const auto& t : st.tracker->tracks()) {
    if (t.frames_since_seen >= visible_frames) continue;
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

static void gst_hesp_face_crop_finalize(GObject* object) {
  auto* self = GST_HESP_FACE_CROP(object);
  delete self->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_hesp_face_crop_class_init(GstHespFaceCropClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_hesp_face_crop_set_property;
  gobject_class->get_property = gst_hesp_face_crop_get_property;
  gobject_class->finalize = gst_hesp_face_crop_finalize;

  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  const auto live = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                             GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_DETECTOR,
      g_param_spec_enum("detector", "Detector", "Where faces come from", GST_TYPE_HESP_DETECTOR,
                        static_cast<gint>(Source::kHaar), flags));
  g_object_class_install_property(
      gobject_class, PROP_DETECTOR_MODEL,
      g_param_spec_string("detector-model", "Detector model",
                          "Haar cascade XML (detector=haar; empty = opencv-data's "
                          "haarcascade_frontalface_default.xml), ONNX file (detector=yunet) or "
                          "weights manifest JSON (detector=faceapi)",
                          "", flags));
  g_object_class_install_property(
      gobject_class, PROP_DETECTION_INTERVAL,
      g_param_spec_uint("detection-interval", "Detection interval",
                        "Run the detector on every n-th frame; boxes are carried in between", 1,
                        1000, kDefaultInterval, live));
  g_object_class_install_property(
      gobject_class, PROP_MIN_FACE_SIZE,
      g_param_spec_uint("min-face-size", "Minimum face size",
                        "Smallest face side searched for, in frame pixels", 4, 4096,
                        kDefaultMinFaceSize, flags));
  g_object_class_install_property(
      gobject_class, PROP_MAX_FACES,
      g_param_spec_uint("max-faces", "Maximum faces",
                        "Faces kept per frame, largest first (0 = no limit)", 0, 1024,
                        kDefaultMaxFaces, flags));
  g_object_class_install_property(
      gobject_class, PROP_SENSITIVITY,
      g_param_spec_double("sensitivity", "Sensitivity",
                          "Detector sensitivity: higher finds more faces and more false ones "
                          "(Haar: fewer neighbours needed; YuNet: lower score threshold)",
                          0.0, 1.0, kDefaultSensitivity, flags));
  g_object_class_install_property(
      gobject_class, PROP_SCALE_FACTOR,
      g_param_spec_double("scale-factor", "Scale factor",
                          "Haar: scale step between pyramid levels (smaller = slower, finds more)",
                          1.01, 2.0, kDefaultScaleFactor, flags));
  g_object_class_install_property(
      gobject_class, PROP_DETECTION_SCALE,
      g_param_spec_double("detection-scale", "Detection scale",
                          "Run the detector on the frame scaled by this factor (faster on large "
                          "frames); boxes are reported in frame pixels",
                          0.1, 1.0, kDefaultDetectionScale, flags));
  g_object_class_install_property(
      gobject_class, PROP_MARGIN,
      g_param_spec_double("margin", "Margin",
                          "Grow each face box by this fraction of its size on every side", 0.0,
                          1.0, kDefaultMargin, live));
  g_object_class_install_property(
      gobject_class, PROP_TRACK_TIMEOUT,
      g_param_spec_uint("track-timeout", "Track timeout",
                        "Frames a face may go undetected before its track ends (a face seen again "
                        "later gets a new id)",
                        0, 100000, kDefaultTrackTimeout, flags));
  g_object_class_install_property(
      gobject_class, PROP_IOU_THRESHOLD,
      g_param_spec_double("iou-threshold", "IoU threshold",
                          "Minimum overlap for a detection to continue a track", 0.01, 1.0,
                          kDefaultIou, flags));

  g_object_class_install_property(
      gobject_class, PROP_DETECTOR_INPUT_SIZE,
      g_param_spec_uint("detector-input-size", "Detector input size",
                        "detector=faceapi: side of the square the frame is fitted into for the "
                        "network, a multiple of 32 (larger finds smaller and turned faces, slower)",
                        32, 2048, kDefaultInputSize, flags));

  gst_element_class_set_static_metadata(
      element_class, "HESP face detector and tracker", "Analyzer/Video",
      "Detects faces and tracks them with stable ids; attaches a face "
      "GstVideoRegionOfInterestMeta per face. Example: gst-launch-1.0 filesrc location=movie.avi "
      "! decodebin ! videoconvert ! hespfacecrop detection-interval=3 ! hespclipbatch ! fakesink",
      "hesp developers");
  GstCaps* caps = gst_caps_from_string(GST_VIDEO_CAPS_MAKE(HESP_VIDEO_FORMATS));
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_hesp_face_crop_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_hesp_face_crop_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_hesp_face_crop_sink_event);
  trans_class->passthrough_on_same_caps = FALSE;
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_hesp_face_crop_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_hesp_face_crop_transform_frame_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_HESP_DETECTOR, static_cast<GstPluginAPIFlags>(0));
  GST_DEBUG_CATEGORY_INIT(gst_hesp_face_crop_debug, "hespfacecrop", 0,
                          "HESP face detector and tracker");
}

static void gst_hesp_face_crop_init(GstHespFaceCrop* self) {
  self->priv = new Private();
  // ROIs are metadata: the frame is only read, never written.
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

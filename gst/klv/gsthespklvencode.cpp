// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-hespklvencode
 * @title: hespklvencode
 *
 * Turns every video frame into one KLV packet holding the frame's JSON (the object that
 * hespmetaconvert writes, see docs/elements-output.md): a 16-byte key of the project, a BER
 * length and the JSON as compact UTF-8. Output buffers are `meta/x-klv, parsed=true` with the
 * frame's PTS and duration, so that `mpegtsmux` stores them as a KLV data stream beside the
 * video. Every frame gives a packet, with an empty `objects` array when it has no faces, so a
 * reader finds one packet per frame. The video itself is not passed on: put the element after a
 * `tee`, with a `queue` in each branch.
 *
 * `source` defaults to the URI of the upstream source (asked with a URI query, or taken from a
 * `location` tag) and `tags` is a JSON object copied into every frame's object, as in
 * hespmetaconvert, so both write the same JSON for the same frame.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=movie.mp4 ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespclipbatch ! hespinfer ! tee name=t ! queue ! hespoverlay ! videoconvert ! x264enc ! \
 *     mpegtsmux name=mux ! filesink location=annotated.ts \
 *     t. ! queue ! hespklvencode ! mux.
 * ]| An annotated MPEG-TS with the faces and expressions of each frame as a KLV stream.
 */
#include "klv/gsthespklvencode.h"

#include <gst/video/video.h>

#include <string>
#include <vector>

#include "common/element_class.h"
#include "common/element_state.h"
#include "common/frame_json.h"
#include "common/frame_json_source.h"
#include "common/guard.h"
#include "common/property_table.h"
#include "klv/klv_codec.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_klv_encode_debug);
#define GST_CAT_DEFAULT gst_hesp_klv_encode_debug

namespace {

constexpr const char* kVideoCaps = "video/x-raw(ANY)";
constexpr const char* kKlvCaps = "meta/x-klv, parsed=(boolean)true";

// Property values; the initialisers are the properties' defaults.
struct Settings {
  std::string source;
  std::string tags = "{}";
};

// Runtime state, built in start() and dropped in stop().
struct State {
  hesp::gst::FrameJsonSource stream;
};

using Private = hesp::gst::ElementData<Settings, State>;

}  // namespace

struct _GstHespKlvEncode {
  GstBaseTransform parent;
  Private* priv;
};

#define gst_hesp_klv_encode_parent_class parent_class
G_DEFINE_TYPE(GstHespKlvEncode, gst_hesp_klv_encode, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(hespklvencode, "hespklvencode", GST_RANK_NONE,
                            GST_TYPE_HESP_KLV_ENCODE);

static gboolean gst_hesp_klv_encode_start(GstBaseTransform* trans) {
  auto* self = GST_HESP_KLV_ENCODE(trans);
  const Settings s = self->priv->settings.get();
  State fresh;
  if (!fresh.stream.configure(GST_ELEMENT(self), s.source, s.tags)) return FALSE;
  self->priv->start(std::move(fresh));
  return TRUE;
}

static gboolean gst_hesp_klv_encode_stop(GstBaseTransform* trans) {
  GST_HESP_KLV_ENCODE(trans)->priv->stop();
  return TRUE;
}

static GstCaps* gst_hesp_klv_encode_transform_caps(GstBaseTransform* trans,
                                                   GstPadDirection direction, GstCaps*,
                                                   GstCaps* filter) {
  // Any video becomes KLV, and KLV can only come from video: the caps do not depend on each
  // other beyond that.
  GstCaps* other = gst_caps_from_string(direction == GST_PAD_SINK ? kKlvCaps : kVideoCaps);
  if (filter) {
    GstCaps* both = gst_caps_intersect_full(filter, other, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(other);
    other = both;
  }
  GST_DEBUG_OBJECT(trans, "%s caps: %" GST_PTR_FORMAT, direction == GST_PAD_SINK ? "src" : "sink",
                   other);
  return other;
}

static gboolean gst_hesp_klv_encode_sink_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_HESP_KLV_ENCODE(trans);
  self->priv->lock_state()->stream.on_event(event);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START: {
      // The KLV stream is a stream of its own beside the video it came from (a muxer may see
      // both): give it an id of its own, derived from the video's.
      const gchar* upstream_id = nullptr;
      gst_event_parse_stream_start(event, &upstream_id);
      guint group = 0;
      const bool has_group = gst_event_parse_group_id(event, &group);
      const std::string id = std::string(upstream_id ? upstream_id : "") + "/hesp-klv";
      GstEvent* own = gst_event_new_stream_start(id.c_str());
      if (has_group) gst_event_set_group_id(own, group);
      gst_event_set_stream_flags(own, GST_STREAM_FLAG_SPARSE);
      gst_event_unref(event);
      event = own;
      break;
    }
    case GST_EVENT_TAG:
      // The video's tags (codec, title) do not describe the metadata stream.
      gst_event_unref(event);
      return TRUE;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static GstFlowReturn gst_hesp_klv_encode_prepare_output_buffer(GstBaseTransform* trans,
                                                               GstBuffer* input,
                                                               GstBuffer** output) {
  auto* self = GST_HESP_KLV_ENCODE(trans);
  auto locked = self->priv->lock_state();
  State& st = *locked;
  if (locked.failed()) return GST_FLOW_ERROR;
  const auto& stream = st.stream.resolve(GST_BASE_TRANSFORM_SINK_PAD(trans));
  std::vector<std::uint8_t> packet;
  const bool ok = HESP_GUARD(self, "Converting the frame's faces to a KLV packet failed", [&] {
    packet = hesp::klv::encode(hesp::klv::kFrameJsonKey,
                               hesp::gst::frame_json_text(hesp::gst::frame_json(input, stream)));
  });
  if (!ok) return locked.flow_return(false);
  GstBuffer* out = gst_buffer_new_memdup(packet.data(), packet.size());
  // The packet belongs to the frame: the same presentation time, so a demuxer gives both back
  // with equal timestamps. It is never a delta of an earlier packet.
  GST_BUFFER_PTS(out) = GST_BUFFER_PTS(input);
  GST_BUFFER_DTS(out) = GST_BUFFER_PTS(input);
  GST_BUFFER_DURATION(out) = GST_BUFFER_DURATION(input);
  GST_BUFFER_OFFSET(out) = GST_BUFFER_OFFSET(input);
  if (GST_BUFFER_FLAG_IS_SET(input, GST_BUFFER_FLAG_DISCONT))
    GST_BUFFER_FLAG_SET(out, GST_BUFFER_FLAG_DISCONT);
  *output = out;
  return GST_FLOW_OK;
}

static GstFlowReturn gst_hesp_klv_encode_transform(GstBaseTransform*, GstBuffer*, GstBuffer*) {
  // prepare_output_buffer wrote the whole packet.
  return GST_FLOW_OK;
}

static void gst_hesp_klv_encode_class_init(GstHespKlvEncodeClass* klass) {
  static const hesp::gst::ElementDoc doc{
      "hespklvencode", "HESP metadata to KLV", "Encoder/Metadata",
      "Writes each video frame's faces and expressions as one KLV packet (meta/x-klv) holding "
      "the frame's JSON, timestamped like the frame, for mpegtsmux. Example: gst-launch-1.0 "
      "filesrc location=movie.mp4 ! decodebin ! videoconvert ! hespfacecrop ! tee name=t ! queue "
      "! x264enc ! mpegtsmux name=mux ! filesink location=faces.ts t. ! queue ! hespklvencode ! "
      "mux."};
  using namespace hesp::gst;  // the property rows
  init_element_class<GstHespKlvEncode, gst_hesp_klv_encode_get_type>(
      klass, doc, &gst_hesp_klv_encode_debug,
      {
          source_property<Settings>(),
          tags_property<Settings>(),
      });
  auto* element_class = GST_ELEMENT_CLASS(klass);
  GstCaps* video = gst_caps_from_string(kVideoCaps);
  GstCaps* klv = gst_caps_from_string(kKlvCaps);
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, video));
  gst_element_class_add_pad_template(element_class,
                                     gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, klv));
  gst_caps_unref(video);
  gst_caps_unref(klv);

  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_hesp_klv_encode_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_hesp_klv_encode_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_hesp_klv_encode_transform_caps);
  trans_class->set_caps = hesp::gst::frame_json_set_caps<GstHespKlvEncode>;
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_hesp_klv_encode_sink_event);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR(gst_hesp_klv_encode_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR(gst_hesp_klv_encode_transform);
  trans_class->passthrough_on_same_caps = FALSE;
}

static void gst_hesp_klv_encode_init(GstHespKlvEncode* self) { hesp::gst::init_private(self); }

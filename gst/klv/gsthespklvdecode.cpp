// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-hespklvdecode
 * @title: hespklvdecode
 *
 * The inverse of hespklvencode: takes a video stream on its `sink` pad and the KLV stream written
 * beside it on its `klv_sink` pad (both as a demuxer such as `tsdemux` gives them back), and
 * pushes the video on `src` with the faces of each frame attached again as
 * GstVideoRegionOfInterestMeta, with the `detection`, `object_id` and `expression` params that
 * hespinfer and hespfacecrop attach. Elements after it (hespoverlay, hespmetaconvert,
 * applications) see the stream as if the recognizer had run on it, and hespmetaconvert writes the
 * same objects for each frame as before encoding.
 *
 * A packet belongs to the frame with the same running time, give or take half the frame's
 * duration (20 ms when the frame has none): a demuxer that re-times a live stream (tsdemux after
 * `udpsrc`) moves the two streams' timestamps apart by a few milliseconds. Packets without a
 * frame are dropped;
 * frames without a packet pass without faces. Packets with another key (KLV data sets of other
 * producers in the same stream) are skipped; a packet with the project's key that does not parse
 * or does not hold a frame's JSON stops the stream with a STREAM/DECODE error.
 *
 * The element waits for both inputs before it pushes a frame, so each sink pad needs a `queue`
 * in front of it when both come from one demuxer, and the `klv_sink` pad must be linked (or get
 * EOS) for video to flow.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=annotated.ts ! tsdemux name=demux \
 *     demux. ! queue ! decodebin ! videoconvert ! dec.sink \
 *     demux. ! queue ! meta/x-klv ! dec.klv_sink \
 *     hespklvdecode name=dec ! hespmetaconvert add-empty-results=true ! fakesink
 * ]| The JSON of every frame of a file written by `hesp run -o annotated.ts`, read back through
 * the metadata on the video.
 */
#include "klv/gsthespklvdecode.h"

#include <gst/video/video.h>

#include <nlohmann/json.hpp>

#include "common/element_class.h"
#include "common/element_state.h"
#include "common/guard.h"
#include "hesp/error.h"
#include "klv/frame_rois.h"
#include "klv/klv_codec.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_klv_decode_debug);
#define GST_CAT_DEFAULT gst_hesp_klv_decode_debug

namespace {

// How far a packet's time may be from its frame's, when the frame does not say its duration.
// A demuxer re-timing a live or pushed stream (tsdemux against the PCR and the arrival times)
// moves the two streams' timestamps apart by up to a few milliseconds, differently for each: the
// packet is the frame's when it is nearer to it than to the frames before and after.
constexpr GstClockTime kDefaultHalfFrame = 20 * GST_MSECOND;

GstClockTime half_frame(GstBuffer* video) {
  const GstClockTime d = GST_BUFFER_DURATION(video);
  return GST_CLOCK_TIME_IS_VALID(d) && d > 0 ? d / 2 : kDefaultHalfFrame;
}

struct Settings {};

struct State {
  bool warned_unknown_key = false;
};

using Private = hesp::gst::ElementData<Settings, State>;

GstClockTime running_time(GstAggregatorPad* pad, GstBuffer* buffer) {
  const GstClockTime ts =
      GST_BUFFER_PTS_IS_VALID(buffer) ? GST_BUFFER_PTS(buffer) : GST_BUFFER_DTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(ts)) return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time(&pad->segment, GST_FORMAT_TIME, ts);
}

}  // namespace

struct _GstHespKlvDecode {
  GstAggregator parent;
  GstAggregatorPad* video_pad;  // owned by the element, like every pad
  GstAggregatorPad* klv_pad;
  Private* priv;
};

#define gst_hesp_klv_decode_parent_class parent_class
G_DEFINE_TYPE(GstHespKlvDecode, gst_hesp_klv_decode, GST_TYPE_AGGREGATOR);
GST_ELEMENT_REGISTER_DEFINE(hespklvdecode, "hespklvdecode", GST_RANK_NONE,
                            GST_TYPE_HESP_KLV_DECODE);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate klv_sink_template = GST_STATIC_PAD_TEMPLATE(
    "klv_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("meta/x-klv, parsed=(boolean)true"));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

// Attaches the faces of the packet(s) in `klv` to `video`. False after posting an error.
static bool attach_packet(GstHespKlvDecode* self, GstBuffer* video, GstBuffer* klv) {
  GstMapInfo map;
  if (!gst_buffer_map(klv, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, DECODE, ("Could not read a KLV buffer."), (nullptr));
    return false;
  }
  bool ok = true;
  std::size_t offset = 0;
  while (ok && offset < map.size) {
    const hesp::klv::ParseResult r = hesp::klv::parse(map.data + offset, map.size - offset);
    if (r.status == hesp::klv::ParseStatus::kUnknownKey) {
      auto st = self->priv->lock_state();
      if (!st->warned_unknown_key)
        GST_WARNING_OBJECT(self, "skipping KLV packets of another producer: %s", r.message.c_str());
      st->warned_unknown_key = true;
      offset += r.packet.size;
      continue;
    }
    if (r.status != hesp::klv::ParseStatus::kOk) {
      GST_ELEMENT_ERROR(self, STREAM, DECODE, ("Corrupt KLV packet: %s.", r.message.c_str()),
                        ("at byte %" G_GSIZE_FORMAT " of the buffer with PTS %" GST_TIME_FORMAT,
                         offset, GST_TIME_ARGS(GST_BUFFER_PTS(klv))));
      ok = false;
      break;
    }
    try {
      hesp::gst::attach_frame_rois(video, nlohmann::json::parse(r.packet.value));
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, STREAM, DECODE,
                        ("A KLV packet does not hold a frame's JSON: %s.", e.what()),
                        ("PTS %" GST_TIME_FORMAT, GST_TIME_ARGS(GST_BUFFER_PTS(klv))));
      ok = false;
    }
    offset += r.packet.size;
  }
  gst_buffer_unmap(klv, &map);
  return ok;
}

static GstFlowReturn gst_hesp_klv_decode_aggregate(GstAggregator* agg, gboolean) {
  auto* self = GST_HESP_KLV_DECODE(agg);
  if (self->priv->lock_state().failed()) return GST_FLOW_ERROR;
  GstBuffer* video = gst_aggregator_pad_peek_buffer(self->video_pad);
  if (!video) {
    if (gst_aggregator_pad_is_eos(self->video_pad)) return GST_FLOW_EOS;
    return GST_AGGREGATOR_FLOW_NEED_DATA;
  }
  const GstClockTime video_time = running_time(self->video_pad, video);
  const GstClockTime tolerance = half_frame(video);
  GstBuffer* match = nullptr;
  // Packets older than the frame have lost their frame (a frame dropped upstream), and packets
  // without a time can belong to no frame: skip them.
  while (GstBuffer* klv = gst_aggregator_pad_peek_buffer(self->klv_pad)) {
    const GstClockTime klv_time = running_time(self->klv_pad, klv);
    if (!GST_CLOCK_TIME_IS_VALID(video_time)) {
      gst_buffer_unref(klv);  // a frame without a time cannot be paired: it passes as it is
      break;
    }
    if (!GST_CLOCK_TIME_IS_VALID(klv_time) || klv_time + tolerance < video_time) {
      GST_LOG_OBJECT(
          self, "dropping a packet at %" GST_TIME_FORMAT " before the frame at %" GST_TIME_FORMAT,
          GST_TIME_ARGS(klv_time), GST_TIME_ARGS(video_time));
      gst_buffer_unref(klv);
      gst_aggregator_pad_drop_buffer(self->klv_pad);
      continue;
    }
    if (klv_time <= video_time + tolerance)
      match = klv;
    else
      gst_buffer_unref(klv);  // a later frame's packet: this frame has none
    break;
  }
  if (!match && GST_CLOCK_TIME_IS_VALID(video_time) &&
      !gst_aggregator_pad_has_buffer(self->klv_pad) && !gst_aggregator_pad_is_eos(self->klv_pad)) {
    // The frame's packet may still come: wait for it rather than pass the frame without faces.
    gst_buffer_unref(video);
    return GST_AGGREGATOR_FLOW_NEED_DATA;
  }
  gst_buffer_unref(video);
  video = gst_aggregator_pad_pop_buffer(self->video_pad);
  if (match) {
    gst_aggregator_pad_drop_buffer(self->klv_pad);
    video = gst_buffer_make_writable(video);
    const bool ok = attach_packet(self, video, match);
    gst_buffer_unref(match);
    if (!ok) {
      gst_buffer_unref(video);
      self->priv->lock_state().set_failed();
      return GST_FLOW_ERROR;
    }
  }
  // The output runs in the video's segment, so its timestamps mean what they meant upstream.
  gst_aggregator_update_segment(agg, &self->video_pad->segment);
  return gst_aggregator_finish_buffer(agg, video);
}

static GstFlowReturn gst_hesp_klv_decode_update_src_caps(GstAggregator* agg, GstCaps*,
                                                         GstCaps** ret) {
  auto* self = GST_HESP_KLV_DECODE(agg);
  // The output is the input video: its caps are the video pad's.
  GstCaps* caps = gst_pad_get_current_caps(GST_PAD(self->video_pad));
  if (!caps) return GST_AGGREGATOR_FLOW_NEED_DATA;
  *ret = caps;
  return GST_FLOW_OK;
}

static gboolean gst_hesp_klv_decode_sink_event(GstAggregator* agg, GstAggregatorPad* pad,
                                               GstEvent* event) {
  auto* self = GST_HESP_KLV_DECODE(agg);
  if (pad == self->video_pad && GST_EVENT_TYPE(event) == GST_EVENT_CAPS)
    gst_pad_mark_reconfigure(GST_AGGREGATOR_SRC_PAD(agg));
  if (pad == self->klv_pad && GST_EVENT_TYPE(event) == GST_EVENT_GAP) {
    // A demuxer's gaps on the sparse KLV stream say only that no packet is there; the aggregator
    // would queue them as empty buffers (and clip them against a segment it may not have yet).
    gst_event_unref(event);
    return TRUE;
  }
  if (pad == self->video_pad && GST_EVENT_TYPE(event) == GST_EVENT_TAG) {
    // The video's tags still describe the output.
    return gst_pad_push_event(GST_AGGREGATOR_SRC_PAD(agg), event);
  }
  return GST_AGGREGATOR_CLASS(parent_class)->sink_event(agg, pad, event);
}

static gboolean gst_hesp_klv_decode_sink_query(GstAggregator* agg, GstAggregatorPad* pad,
                                               GstQuery* query) {
  auto* self = GST_HESP_KLV_DECODE(agg);
  // The video passes through unchanged: what downstream accepts (caps, allocation) is what the
  // video pad accepts.
  if (pad == self->video_pad) {
    switch (GST_QUERY_TYPE(query)) {
      case GST_QUERY_CAPS:
      case GST_QUERY_ACCEPT_CAPS:
      case GST_QUERY_ALLOCATION:
        return gst_pad_peer_query(GST_AGGREGATOR_SRC_PAD(agg), query);
      default:
        break;
    }
  }
  return GST_AGGREGATOR_CLASS(parent_class)->sink_query(agg, pad, query);
}

static gboolean gst_hesp_klv_decode_start(GstAggregator* agg) {
  GST_HESP_KLV_DECODE(agg)->priv->start({});
  return TRUE;
}

static gboolean gst_hesp_klv_decode_stop(GstAggregator* agg) {
  GST_HESP_KLV_DECODE(agg)->priv->stop();
  return TRUE;
}

static void gst_hesp_klv_decode_finalize(GObject* object) {
  auto* self = GST_HESP_KLV_DECODE(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_hesp_klv_decode_class_init(GstHespKlvDecodeClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = gst_hesp_klv_decode_finalize;
  static const hesp::gst::ElementDoc doc{
      "hespklvdecode", "HESP KLV to metadata", "Decoder/Metadata",
      "Attaches the faces and expressions of a KLV stream written by hespklvencode to the video "
      "frames with the same timestamps, as ROI metadata for downstream elements. Example: "
      "gst-launch-1.0 filesrc location=annotated.ts ! tsdemux name=d d. ! queue ! decodebin ! "
      "dec.sink d. ! queue ! meta/x-klv ! dec.klv_sink hespklvdecode name=dec ! hespoverlay ! "
      "videoconvert ! autovideosink"};
  hesp::gst::describe_element(GST_ELEMENT_CLASS(klass), doc, &gst_hesp_klv_decode_debug);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &sink_template,
                                                       GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &klv_sink_template,
                                                       GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &src_template,
                                                       GST_TYPE_AGGREGATOR_PAD);

  auto* agg_class = GST_AGGREGATOR_CLASS(klass);
  agg_class->aggregate = GST_DEBUG_FUNCPTR(gst_hesp_klv_decode_aggregate);
  agg_class->update_src_caps = GST_DEBUG_FUNCPTR(gst_hesp_klv_decode_update_src_caps);
  agg_class->sink_event = GST_DEBUG_FUNCPTR(gst_hesp_klv_decode_sink_event);
  agg_class->sink_query = GST_DEBUG_FUNCPTR(gst_hesp_klv_decode_sink_query);
  agg_class->start = GST_DEBUG_FUNCPTR(gst_hesp_klv_decode_start);
  agg_class->stop = GST_DEBUG_FUNCPTR(gst_hesp_klv_decode_stop);
}

static GstAggregatorPad* add_sink_pad(GstHespKlvDecode* self, const char* name) {
  GstPadTemplate* templ = gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(self), name);
  auto* pad = GST_AGGREGATOR_PAD(g_object_new(GST_TYPE_AGGREGATOR_PAD, "name", name, "direction",
                                              GST_PAD_SINK, "template", templ, nullptr));
  gst_element_add_pad(GST_ELEMENT(self), GST_PAD(pad));
  return pad;
}

static void gst_hesp_klv_decode_init(GstHespKlvDecode* self) {
  self->priv = new Private();
  self->video_pad = add_sink_pad(self, "sink");
  self->klv_pad = add_sink_pad(self, "klv_sink");
}

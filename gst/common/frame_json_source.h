// SPDX-License-Identifier: LGPL-2.1-or-later
// What an element that writes frame JSON (hespmetaconvert, hespmetapublish, hespklvencode) learns
// about its stream from the stream itself: the frame size from the caps and the source URI from
// the `source` property, else the upstream source (a URI query or a `location` tag), together with
// the `tags` property. Each of those elements keeps one in its state and calls it under its state
// lock; what they do with the JSON is theirs.
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

#include <string>
#include <vector>

#include "common/element_class.h"
#include "common/frame_json.h"
#include "common/property_table.h"

namespace hesp::gst {

class FrameJsonSource {
 public:
  // start(): takes the `source` and `tags` properties. False after posting a settings error on
  // `element` when `tags` is not a JSON object.
  bool configure(GstElement* element, const std::string& source, const std::string& tags);

  // The frame size set_caps() read (see frame_size_of_caps).
  void set_size(int width, int height);

  // STREAM_START: a new stream may come from another source (concat, playlists), so the source
  // is asked again, unless the `source` property named it.
  void on_stream_start();

  // A TAG event: its location is the source when none is known yet.
  void on_tag(GstEvent* event);

  // A sink pad event: STREAM_START and TAG go to the two above, the others say nothing here.
  void on_event(GstEvent* event);

  // What a frame's JSON says about the stream. The first frame of a stream that has no source yet
  // asks the peer of `sink_pad` for its URI; a query is sent once per stream.
  const FrameJsonStream& resolve(GstPad* sink_pad);

  // resolve() for the sink pad of `trans`, then the JSON text of the frame holding `faces` (see
  // frame_json_text). False after posting the error that making it raised.
  bool frame_text(GstBaseTransform* trans, GstBuffer* buffer, const std::vector<FaceRoi>& faces,
                  int indent, std::string* text);

 private:
  FrameJsonStream stream_;
  bool source_from_property_ = false;
  bool source_queried_ = false;
};

// The `source` and `tags` property rows, worded alike in every element that writes frame JSON;
// their Settings have std::string fields `source` (default "") and `tags` (default "{}"), which
// go to configure().
template <typename Settings>
Property<Settings> source_property() {
  return string_property("source", "Source",
                         "Value of the 'source' field; empty = the upstream source's URI when it "
                         "tells one, else empty",
                         &Settings::source);
}

template <typename Settings>
Property<Settings> tags_property() {
  return string_property("tags", "Tags",
                         "JSON object copied into every frame's 'tags' field, e.g. "
                         "{\"camera\":\"hall\"}",
                         &Settings::tags);
}

// set_caps(): the fixed width and height of video caps, read from the structure rather than as a
// GstVideoInfo, since memory-specific caps (DMABuf, GL) may not parse as one and the size is all a
// frame's JSON needs. False after posting a negotiation error on `element`.
bool frame_size_of_caps(GstElement* element, GstCaps* caps, int* width, int* height);

// The set_caps vfunc of a base transform whose State keeps its FrameJsonSource as `stream`.
template <typename Instance>
gboolean frame_json_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps*) {
  int width = 0, height = 0;
  if (!frame_size_of_caps(GST_ELEMENT(trans), incaps, &width, &height)) return FALSE;
  instance_cast<Instance>(trans)->priv->lock_state()->stream.set_size(width, height);
  return TRUE;
}

}  // namespace hesp::gst

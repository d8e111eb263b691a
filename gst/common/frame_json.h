// SPDX-License-Identifier: LGPL-2.1-or-later
// The per-frame JSON of the project, in the layout of Intel DL Streamer's gvametaconvert: the
// frame's resolution, source, tags and timestamp, and one object per face ROI with its detection,
// track id and expression. hespmetaconvert writes it, and so does `hesp faces`; the layout is
// described field by field in docs/elements-output.md and checked in as
// tests/data/hesp-frame.schema.json.
#pragma once

#include <gst/gst.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/face_roi.h"

namespace hesp::gst {

// What a frame's JSON tells about its stream rather than about the buffer.
struct FrameJsonStream {
  int width = 0;  // frame size in pixels, from the caps
  int height = 0;
  std::string source;                              // URI of the source; may be empty
  nlohmann::json tags = nlohmann::json::object();  // copied into every frame
};

// The JSON object of one frame holding these faces (ROIs of the buffer).
nlohmann::json frame_json(GstBuffer* buffer, const std::vector<FaceRoi>& faces,
                          const FrameJsonStream& stream);

// The same for every face ROI of the buffer.
nlohmann::json frame_json(GstBuffer* buffer, const FrameJsonStream& stream);

// The frame as text: one compact line for indent -1, else spread over lines with indent spaces
// per level. Bytes that are not UTF-8 (labels come from model packs and user prompts) are
// replaced rather than failing the stream.
std::string frame_json_text(const nlohmann::json& frame, int indent = -1);

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
// The inverse of common/frame_json.h: a frame's JSON object turned back into face ROI metadata on
// a buffer, so that elements after hespklvdecode (hespoverlay, hespmetaconvert, applications) see
// the faces as if hespfacecrop and hespinfer had run on this stream.
#pragma once

#include <gst/gst.h>

#include <nlohmann/json.hpp>

namespace hesp::gst {

// Adds one GstVideoRegionOfInterestMeta per entry of frame["objects"], with the `detection`,
// `object_id` and `expression` params that frame_json() reads, so frame_json() on the buffer
// gives the same objects again. Throws hesp::InputError naming the field when the JSON does not
// have the layout frame_json() writes. The buffer must be writable.
void attach_frame_rois(GstBuffer* buffer, const nlohmann::json& frame);

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
// The face part of the metadata contract: GstVideoRegionOfInterestMeta with roi_type "face" and
// the DL Streamer-style `detection` and `object_id` params.
#pragma once

#include <gst/video/video.h>

#include <vector>

#include "hesp/image.h"

namespace hesp::gst {

struct FaceRoi {
  GstVideoRegionOfInterestMeta* meta = nullptr;
  Box box;                  // pixels
  gint track_id = -1;       // object_id.id, -1 when the ROI carries none
  double confidence = 0.0;  // detection.confidence, 0 when absent
};

// Attaches one face: pixel box clipped to the frame, normalised detection params, object id.
GstVideoRegionOfInterestMeta* add_face_roi(GstBuffer* buffer, const Box& box, double confidence,
                                           guint track_id, int frame_width, int frame_height);

// Every ROI of type "face" on the buffer, in attachment order.
std::vector<FaceRoi> face_rois(GstBuffer* buffer);

// The quark of the "face" ROI type.
GQuark face_roi_type();

}  // namespace hesp::gst

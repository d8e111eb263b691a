// SPDX-License-Identifier: LGPL-2.1-or-later
// Frames with face ROIs built by the test rather than by hespfacecrop and hespinfer, for the
// elements that only read them (hespmetaconvert, hespklvencode): 320x240 RGB frames of one grey,
// face ROIs with the params hespfacecrop attaches, the expression hespinfer writes, and the ROIs
// of other producers.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include "common/expression_params.h"
#include "common/face_roi.h"

namespace hesp::test {

constexpr int kWidth = 320;
constexpr int kHeight = 240;
constexpr const char* kCaps = "video/x-raw,format=RGB,width=320,height=240,framerate=25/1";

// A frame of one grey at `pts`, lasting 40 ms.
inline GstBuffer* blank(GstClockTime pts) {
  GstBuffer* b = gst_buffer_new_allocate(nullptr, kWidth * kHeight * 3, nullptr);
  gst_buffer_memset(b, 0, 0x40, kWidth * kHeight * 3);
  GST_BUFFER_PTS(b) = pts;
  GST_BUFFER_DURATION(b) = 40 * GST_MSECOND;
  return b;
}

// A face ROI of track `id` as hespfacecrop attaches it.
inline GstVideoRegionOfInterestMeta* face(GstBuffer* b, float x, float y, float w, float h,
                                          double confidence, guint id) {
  return gst::add_face_roi(b, hesp::Box{x, y, w, h}, confidence, id, kWidth, kHeight);
}

// A "happy" result of the first clip (0 to 40 ms) over neutral, happy and sad with these scores,
// as hespinfer writes it.
inline gst::ExpressionParams happy(double neutral, double happy, double sad) {
  gst::ExpressionParams p;
  p.label = "happy";
  p.label_id = 1;
  p.confidence = happy;
  p.is_unknown = false;
  p.open_set_score = 2.5;
  p.unknown_threshold = 1.5;
  p.model_name = "faceapi-fer7";
  p.clip_start = 0;
  p.clip_end = 40 * GST_MSECOND;
  p.class_labels = {"neutral", "happy", "sad"};
  p.class_scores = {neutral, happy, sad};
  return p;
}

// ROIs of other producers: a person (not a face, so the frame JSON leaves it out) next to a face
// that carries no params at all (its box is derived from the pixels).
inline void add_foreign_rois(GstBuffer* b) {
  gst_buffer_add_video_region_of_interest_meta(b, "person", 0, 0, 160, 240);
  gst_buffer_add_video_region_of_interest_meta(b, "face", 160, 60, 80, 120);
}

}  // namespace hesp::test

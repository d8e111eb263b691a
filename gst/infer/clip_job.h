// SPDX-License-Identifier: LGPL-2.1-or-later
// A face clip on its way to the model: the crops (a reference on hespclipbatch's bytes, never a
// copy), the frames' PTS (the frame cache's keys and the result's age) and the track it belongs
// to. Shared by hespinfer's synchronous path and its inference worker.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <vector>

#include "hesp/expression_model.h"

namespace hesp::gst {

struct ClipJob {
  guint track_id = 0;
  std::shared_ptr<GBytes> frames;
  guint n_frames = 0;
  guint n_real_frames = 0;  // frames that are not padding (an early or final partial clip)
  guint crop_size = 0;
  std::vector<std::uint64_t> pts;  // one per frame
  guint64 first_index = 0;         // the first frame's index among the track's sampled frames
  // Set above the track id in the frame cache's keys, so that streams sharing one model (and its
  // cache) keep apart; 0 for an element with a model of its own.
  std::uint64_t stream_tag = 0;

  GstClockTime clip_start() const { return pts.empty() ? GST_CLOCK_TIME_NONE : pts.front(); }
  GstClockTime clip_end() const { return pts.empty() ? GST_CLOCK_TIME_NONE : pts.back(); }

  // What the model reads; valid while the job lives.
  ClipView view() const {
    ClipView v;
    v.rgb = static_cast<const std::uint8_t*>(g_bytes_get_data(frames.get(), nullptr));
    v.n_frames = static_cast<int>(n_frames);
    v.crop_size = static_cast<int>(crop_size);
    v.frame_keys = pts.data();
    v.track = (stream_tag << 32) | track_id;
    v.first_index = first_index;
    return v;
  }
};

// Takes a new reference on `frames`.
inline ClipJob make_clip_job(guint track_id, GBytes* frames, guint n_frames, guint n_real_frames,
                             guint crop_size, const GstClockTime* pts, guint64 first_index) {
  ClipJob job;
  job.track_id = track_id;
  job.frames = std::shared_ptr<GBytes>(g_bytes_ref(frames), g_bytes_unref);
  job.n_frames = n_frames;
  job.n_real_frames = n_real_frames;
  job.crop_size = crop_size;
  job.pts.assign(pts, pts + n_frames);
  job.first_index = first_index;
  return job;
}

struct ClipOutcome {
  guint track_id = 0;
  GstClockTime clip_start = GST_CLOCK_TIME_NONE;
  GstClockTime clip_end = GST_CLOCK_TIME_NONE;
  guint clip_frames = 0;  // real frames behind the result
  ExpressionResult result;
};

}  // namespace hesp::gst

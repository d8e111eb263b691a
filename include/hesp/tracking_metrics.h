// SPDX-License-Identifier: LGPL-2.1-or-later
// Multi-object tracking scores of face tracks against ground truth, frame by frame: CLEAR-MOT
// (MOTA with its false positives, misses and identity switches), IDF1 (one global matching of
// ground-truth identities to track ids), and what matters for edited video: tracks that outlive a
// hard cut and boxes left over no face right after one. Torch-free and GStreamer-free.
#pragma once

#include <vector>

#include "hesp/image.h"

namespace hesp {

// A face the ground truth knows in one frame. Ids are stable within a shot and unique across the
// video (the same person in two shots has two ids). A face that need not be found (mostly outside
// the frame, or smaller than the detector searches for) is not required: a box on it is neither a
// hit nor a false positive, and missing it is no miss.
struct TruthFace {
  int id = 0;
  Box box;
  bool required = true;
};

// A box the tracker reported.
struct TrackBox {
  int track_id = 0;
  Box box;
};

struct TrackingFrame {
  int shot = 0;  // frames of one shot are consecutive; a new shot number is a hard cut
  std::vector<TruthFace> truth;
  std::vector<TrackBox> tracks;
};

struct TrackingMetricsOptions {
  // A box and a face match when their IoU is at least this.
  float iou_threshold = 0.5f;
  // Boxes whose track began before a cut are counted as stale from this many frames after it.
  int stale_after_frames = 2;
  // Boxes over no face are counted per frame for this many frames from each cut.
  int ghost_frames = 5;
  // A box lies over no face when its IoU with every face of the frame (required or not) is below
  // this: looser than a match, so a loose box on a face is not a ghost.
  float ghost_iou = 0.1f;
  // The centre error is taken on faces whose centre moved at least this many pixels since the
  // previous frame (the camera pans or zooms).
  float moving_pixels = 0.5f;
};

// Centre error of one face over the frames it moved and was matched (fractions of its size).
// offset_x/offset_y: the mean signed offset of the box centre from the face centre, positive to
// the right and down: a constant offset is where the detector places its box on that face (a
// profile face, a box convention), not a box that trails the face.
struct FaceCentreError {
  int id = 0;
  int count = 0;
  double mean = 0.0;
  double offset_x = 0.0;
  double offset_y = 0.0;
};

struct TrackingMetrics {
  int frames = 0;
  int shots = 0;
  int truth_boxes = 0;  // required faces over all frames
  int track_boxes = 0;  // boxes counted (those on faces that are not required are left out)
  int truth_ids = 0;    // distinct required faces
  int track_ids = 0;    // distinct track ids among the boxes counted
  // CLEAR-MOT. An identity switch is a face matched to another track id than when it was last
  // matched; MOTA = 1 - (misses + false positives + switches) / truth_boxes.
  int matches = 0;
  int false_positives = 0;
  int misses = 0;
  int id_switches = 0;
  double mota = 0.0;
  double motp_iou = 0.0;  // mean IoU of the matches
  double precision = 0.0;
  double recall = 0.0;
  // IDF1: each face id gets at most one track id and each track id one face id, chosen to
  // maximise the frames where the pair matches (idtp); idf1 = 2 idtp / (truth_boxes + track_boxes).
  int idtp = 0;
  int idfp = 0;
  int idfn = 0;
  double idf1 = 0.0;
  // Cuts: boxes from stale_after_frames after a cut to the end of the shot whose track id was
  // seen before the cut (box-frames and distinct ids), and per frame k from the cut (k = 0 is the
  // first frame of the new shot) the boxes that lie over no face, summed over the cuts.
  int cuts = 0;
  int stale_boxes = 0;
  int stale_tracks = 0;
  std::vector<int> ghosts_after_cut;
  // Distance of a matched box's centre from its face's centre, over the face size (mean of its
  // width and height), on moving faces: mean and 95th percentile; count = the matches measured.
  int centre_error_count = 0;
  double centre_error_mean = 0.0;
  double centre_error_p95 = 0.0;
  // The same distances after taking away each face's mean offset (FaceCentreError): how well the
  // box follows the face as it moves, whatever the detector's placement on that face.
  double follow_error_mean = 0.0;
  double follow_error_p95 = 0.0;
  std::vector<FaceCentreError> centre_error_by_face;  // by face id
};

TrackingMetrics evaluate_tracking(const std::vector<TrackingFrame>& frames,
                                  const TrackingMetricsOptions& options = {});

// The assignment of rows to columns of minimum total cost (Hungarian method, O(n^2 m)), for any
// rectangular matrix given as rows of equal length. Entry r of the result is the column of row r,
// or -1 when there are more rows than columns and row r got none. Every row (or every column, when
// there are fewer) is assigned; leave out pairs that must not match afterwards.
std::vector<int> min_cost_assignment(const std::vector<std::vector<double>>& cost);

}  // namespace hesp

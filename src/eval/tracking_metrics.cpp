// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/tracking_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

namespace hesp {

std::vector<int> min_cost_assignment(const std::vector<std::vector<double>>& cost) {
  const int rows = static_cast<int>(cost.size());
  const int cols = rows ? static_cast<int>(cost[0].size()) : 0;
  if (rows == 0 || cols == 0) return std::vector<int>(rows, -1);
  if (rows > cols) {  // the method below needs rows <= columns: solve the transpose
    std::vector<std::vector<double>> t(cols, std::vector<double>(rows));
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) t[c][r] = cost[r][c];
    const std::vector<int> col_to_row = min_cost_assignment(t);
    std::vector<int> result(rows, -1);
    for (int c = 0; c < cols; ++c) result[col_to_row[c]] = c;
    return result;
  }
  // Shortest augmenting paths with row and column potentials u, v (1-based; column 0 is the
  // virtual start). p[j] is the row assigned to column j.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(rows + 1, 0.0), v(cols + 1, 0.0);
  std::vector<int> p(cols + 1, 0), way(cols + 1, 0);
  for (int i = 1; i <= rows; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(cols + 1, inf);
    std::vector<bool> used(cols + 1, false);
    do {
      used[j0] = true;
      const int i0 = p[j0];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= cols; ++j) {
        if (used[j]) continue;
        const double cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= cols; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> result(rows, -1);
  for (int j = 1; j <= cols; ++j)
    if (p[j] > 0) result[p[j] - 1] = j - 1;
  return result;
}

namespace {

// The pairs (truth index, track index) of maximum count, then maximum total IoU, among pairs
// with IoU >= threshold.
std::vector<std::pair<int, int>> match_by_iou(const std::vector<Box>& truth,
                                              const std::vector<Box>& tracks, float threshold) {
  std::vector<std::pair<int, int>> pairs;
  if (truth.empty() || tracks.empty()) return pairs;
  // A forbidden pair costs more than any set of allowed ones (each costs at most 1), so the
  // cheapest assignment has the most allowed pairs.
  const double forbidden = 1.0 + static_cast<double>(std::max(truth.size(), tracks.size()));
  std::vector<std::vector<double>> cost(truth.size(), std::vector<double>(tracks.size()));
  for (size_t g = 0; g < truth.size(); ++g)
    for (size_t t = 0; t < tracks.size(); ++t) {
      const float o = iou(truth[g], tracks[t]);
      cost[g][t] = o >= threshold ? 1.0 - o : forbidden;
    }
  const std::vector<int> assigned = min_cost_assignment(cost);
  for (size_t g = 0; g < truth.size(); ++g)
    if (assigned[g] >= 0 && cost[g][assigned[g]] < forbidden)
      pairs.emplace_back(static_cast<int>(g), assigned[g]);
  return pairs;
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(q * values.size()));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

}  // namespace

TrackingMetrics evaluate_tracking(const std::vector<TrackingFrame>& frames,
                                  const TrackingMetricsOptions& options) {
  TrackingMetrics m;
  m.frames = static_cast<int>(frames.size());
  m.ghosts_after_cut.assign(std::max(0, options.ghost_frames), 0);
  const float thr = options.iou_threshold;

  std::map<int, int> last_track;                   // face id -> track id it was last matched to
  std::map<std::pair<int, int>, int> pair_frames;  // (face id, track id) -> frames matched (IDF1)
  std::set<int> truth_ids, track_ids;
  struct CentreOffset {
    int face = 0;
    double dx = 0.0, dy = 0.0;  // box centre minus face centre, over the face size
  };
  std::vector<CentreOffset> centre_offsets;
  double iou_sum = 0.0;

  for (size_t i = 0; i < frames.size(); ++i) {
    const TrackingFrame& f = frames[i];
    const bool new_shot = i == 0 || f.shot != frames[i - 1].shot;
    if (new_shot) ++m.shots;

    std::vector<const TruthFace*> required;
    for (const TruthFace& g : f.truth)
      if (g.required) required.push_back(&g);
    std::vector<int> match_of_truth(required.size(), -1);
    std::vector<bool> track_matched(f.tracks.size(), false);

    // CLEAR-MOT: a face keeps the track it had while they still overlap; the rest are matched
    // by maximum overlap.
    for (size_t g = 0; g < required.size(); ++g) {
      const auto last = last_track.find(required[g]->id);
      if (last == last_track.end()) continue;
      for (size_t t = 0; t < f.tracks.size(); ++t)
        if (!track_matched[t] && f.tracks[t].track_id == last->second &&
            iou(required[g]->box, f.tracks[t].box) >= thr) {
          match_of_truth[g] = static_cast<int>(t);
          track_matched[t] = true;
          break;
        }
    }
    std::vector<int> open_truth, open_tracks;
    std::vector<Box> open_truth_boxes, open_track_boxes;
    for (size_t g = 0; g < required.size(); ++g)
      if (match_of_truth[g] < 0) {
        open_truth.push_back(static_cast<int>(g));
        open_truth_boxes.push_back(required[g]->box);
      }
    for (size_t t = 0; t < f.tracks.size(); ++t)
      if (!track_matched[t]) {
        open_tracks.push_back(static_cast<int>(t));
        open_track_boxes.push_back(f.tracks[t].box);
      }
    for (auto [g, t] : match_by_iou(open_truth_boxes, open_track_boxes, thr)) {
      match_of_truth[open_truth[g]] = open_tracks[t];
      track_matched[open_tracks[t]] = true;
    }

    for (size_t g = 0; g < required.size(); ++g) {
      const TruthFace& face = *required[g];
      truth_ids.insert(face.id);
      ++m.truth_boxes;
      const int t = match_of_truth[g];
      if (t < 0) {
        ++m.misses;
        continue;
      }
      const TrackBox& track = f.tracks[t];
      ++m.matches;
      iou_sum += iou(face.box, track.box);
      const auto last = last_track.find(face.id);
      if (last != last_track.end() && last->second != track.track_id) ++m.id_switches;
      last_track[face.id] = track.track_id;
      if (!new_shot) {
        for (const TruthFace& prev : frames[i - 1].truth) {
          if (prev.id != face.id) continue;
          const double moved = std::hypot(face.box.center_x() - prev.box.center_x(),
                                          face.box.center_y() - prev.box.center_y());
          if (moved >= options.moving_pixels) {
            const double size = 0.5 * (face.box.width + face.box.height);
            centre_offsets.push_back({face.id, (track.box.center_x() - face.box.center_x()) / size,
                                      (track.box.center_y() - face.box.center_y()) / size});
          }
          break;
        }
      }
    }

    // Boxes left unmatched are false positives unless they lie on a face that need not be found.
    std::vector<bool> counted(f.tracks.size(), true);
    for (size_t t = 0; t < f.tracks.size(); ++t) {
      if (track_matched[t]) continue;
      for (const TruthFace& g : f.truth)
        if (!g.required && iou(g.box, f.tracks[t].box) >= thr) counted[t] = false;
      if (counted[t]) ++m.false_positives;
    }
    for (size_t t = 0; t < f.tracks.size(); ++t) {
      if (!counted[t]) continue;
      ++m.track_boxes;
      track_ids.insert(f.tracks[t].track_id);
      for (const TruthFace* g : required)
        if (iou(g->box, f.tracks[t].box) >= thr) ++pair_frames[{g->id, f.tracks[t].track_id}];
    }
  }

  // Cuts: ids seen before each cut, then the boxes that carry one on into the new shot.
  std::set<int> seen_before;
  std::set<int> stale_ids;
  size_t shot_start = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (i > 0 && frames[i].shot != frames[i - 1].shot) {
      for (size_t j = shot_start; j < i; ++j)
        for (const TrackBox& t : frames[j].tracks) seen_before.insert(t.track_id);
      shot_start = i;
      ++m.cuts;
    }
    if (m.cuts == 0) continue;
    const size_t k = i - shot_start;
    for (const TrackBox& t : frames[i].tracks) {
      if (k >= static_cast<size_t>(std::max(0, options.stale_after_frames)) &&
          seen_before.count(t.track_id)) {
        ++m.stale_boxes;
        stale_ids.insert(t.track_id);
      }
      if (k < m.ghosts_after_cut.size()) {
        float best = 0.f;
        for (const TruthFace& g : frames[i].truth) best = std::max(best, iou(g.box, t.box));
        if (best < options.ghost_iou) ++m.ghosts_after_cut[k];
      }
    }
  }
  m.stale_tracks = static_cast<int>(stale_ids.size());

  // IDF1: one global assignment of face ids to track ids maximising the frames they match.
  const std::vector<int> gids(truth_ids.begin(), truth_ids.end());
  const std::vector<int> tids(track_ids.begin(), track_ids.end());
  if (!gids.empty() && !tids.empty()) {
    std::vector<std::vector<double>> cost(gids.size(), std::vector<double>(tids.size(), 0.0));
    for (const auto& [key, n] : pair_frames) {
      const auto g = std::lower_bound(gids.begin(), gids.end(), key.first) - gids.begin();
      const auto t = std::lower_bound(tids.begin(), tids.end(), key.second) - tids.begin();
      cost[g][t] = -static_cast<double>(n);
    }
    const std::vector<int> assigned = min_cost_assignment(cost);
    for (size_t g = 0; g < gids.size(); ++g)
      if (assigned[g] >= 0) m.idtp += static_cast<int>(-cost[g][assigned[g]]);
  }
  m.truth_ids = static_cast<int>(gids.size());
  m.track_ids = static_cast<int>(tids.size());
  m.idfn = m.truth_boxes - m.idtp;
  m.idfp = m.track_boxes - m.idtp;
  const int id_boxes = m.truth_boxes + m.track_boxes;
  m.idf1 = id_boxes > 0 ? 2.0 * m.idtp / id_boxes : 1.0;

  m.mota = m.truth_boxes > 0
               ? 1.0 - double(m.misses + m.false_positives + m.id_switches) / m.truth_boxes
               : 0.0;
  m.motp_iou = m.matches > 0 ? iou_sum / m.matches : 0.0;
  m.precision = m.track_boxes > 0 ? double(m.matches) / m.track_boxes : 0.0;
  m.recall = m.truth_boxes > 0 ? double(m.matches) / m.truth_boxes : 0.0;
  m.centre_error_count = static_cast<int>(centre_offsets.size());
  if (!centre_offsets.empty()) {
    std::map<int, FaceCentreError> by_face;
    std::vector<double> errors;
    for (const CentreOffset& o : centre_offsets) {
      FaceCentreError& f = by_face[o.face];
      f.id = o.face;
      ++f.count;
      f.offset_x += o.dx;
      f.offset_y += o.dy;
      errors.push_back(std::hypot(o.dx, o.dy));
      f.mean += errors.back();
    }
    for (auto& [id, f] : by_face) {
      f.mean /= f.count;
      f.offset_x /= f.count;
      f.offset_y /= f.count;
      m.centre_error_by_face.push_back(f);
    }
    std::vector<double> follow;
    for (const CentreOffset& o : centre_offsets) {
      const FaceCentreError& f = by_face[o.face];
      follow.push_back(std::hypot(o.dx - f.offset_x, o.dy - f.offset_y));
    }
    const auto mean = [](const std::vector<double>& v) {
      double sum = 0.0;
      for (double e : v) sum += e;
      return sum / v.size();
    };
    m.centre_error_mean = mean(errors);
    m.centre_error_p95 = percentile(errors, 0.95);
    m.follow_error_mean = mean(follow);
    m.follow_error_p95 = percentile(follow, 0.95);
  }
  return m;
}

}  // namespace hesp

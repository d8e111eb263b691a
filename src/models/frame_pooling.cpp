// SPDX-License-Identifier: LGPL-2.1-or-later
#include "models/frame_pooling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "hesp/error.h"

namespace hesp::models {

namespace {

// Softmax of one row, in double.
std::vector<double> softmax_row(const float* row, int classes) {
  std::vector<double> p(row, row + classes);
  const double top = *std::max_element(p.begin(), p.end());
  double sum = 0.0;
  for (double& v : p) sum += (v = std::exp(v - top));
  for (double& v : p) v /= sum;
  return p;
}

// How much expression a frame shows, in [0, 1]: the probability that it is not neutral, or, for
// models without a neutral class, how sure the model is of any class.
double expressiveness(const float* row, int classes, int neutral_class) {
  const std::vector<double> p = softmax_row(row, classes);
  if (neutral_class >= 0 && neutral_class < classes) return 1.0 - p[neutral_class];
  return *std::max_element(p.begin(), p.end());
}

std::vector<double> weighted_mean(const float* rows, int classes,
                                  const std::vector<double>& weights) {
  std::vector<double> out(classes, 0.0);
  double total = 0.0;
  for (std::size_t f = 0; f < weights.size(); ++f) {
    total += weights[f];
    for (int j = 0; j < classes; ++j) out[j] += weights[f] * rows[f * classes + j];
  }
  for (double& v : out) v /= total;
  return out;
}

// The logits of the frame whose top probability is highest (the first of equals).
std::vector<double> peak_frame(const float* rows, int count, int classes) {
  int best = 0;
  double best_p = -1.0;
  for (int f = 0; f < count; ++f) {
    const std::vector<double> p = softmax_row(rows + f * classes, classes);
    const double top = *std::max_element(p.begin(), p.end());
    if (top > best_p) best_p = top, best = f;
  }
  return std::vector<double>(rows + best * classes, rows + (best + 1) * classes);
}

// The mean of the frames whose top class is the clip's sustained expression: an expression (not
// neutral) that is the top class on at least kSustainedFrames frames; the one on most frames,
// then the one with the larger summed probability. Without such an expression, or without a
// neutral class to tell expressions from, the peak frame.
std::vector<double> sustained_expression(const float* rows, int count, int classes,
                                         int neutral_class) {
  if (neutral_class < 0 || neutral_class >= classes) return peak_frame(rows, count, classes);
  std::vector<int> frames_of(classes, 0);
  std::vector<double> mass_of(classes, 0.0);
  std::vector<int> top_of(count);
  for (int f = 0; f < count; ++f) {
    const std::vector<double> p = softmax_row(rows + f * classes, classes);
    top_of[f] = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    ++frames_of[top_of[f]];
    mass_of[top_of[f]] += p[top_of[f]];
  }
  int chosen = -1;
  for (int c = 0; c < classes; ++c) {
    if (c == neutral_class || frames_of[c] < kSustainedFrames) continue;
    if (chosen < 0 || frames_of[c] > frames_of[chosen] ||
        (frames_of[c] == frames_of[chosen] && mass_of[c] > mass_of[chosen]))
      chosen = c;
  }
  if (chosen < 0) return peak_frame(rows, count, classes);
  std::vector<double> w(count, 0.0);
  for (int f = 0; f < count; ++f) w[f] = top_of[f] == chosen ? 1.0 : 0.0;
  return weighted_mean(rows, classes, w);
}

}  // namespace

const std::vector<std::string>& frame_pooling_names() {
  static const std::vector<std::string> names{"mean", "expressive", "top-half", "peak",
                                              "sustained"};
  return names;
}

const char* frame_pooling_name(FramePooling pooling) {
  switch (pooling) {
    case FramePooling::kMean:
      return "mean";
    case FramePooling::kExpressive:
      return "expressive";
    case FramePooling::kTopHalf:
      return "top-half";
    case FramePooling::kPeak:
      return "peak";
    case FramePooling::kSustained:
      return "sustained";
  }
  return "mean";
}

FramePooling parse_frame_pooling(const std::string& name) {
  for (FramePooling p : {FramePooling::kMean, FramePooling::kExpressive, FramePooling::kTopHalf,
                         FramePooling::kPeak, FramePooling::kSustained})
    if (name == frame_pooling_name(p)) return p;
  throw SettingsError("unknown frame pooling '" + name +
                      "' (accepted: mean, expressive, top-half, peak, sustained)");
}

std::vector<double> pool_frame_logits(FramePooling pooling, const float* rows, int count,
                                      int classes, int neutral_class) {
  if (count < 1 || classes < 1)
    throw InputError("frame pooling needs at least one frame and class");
  switch (pooling) {
    case FramePooling::kMean:
      return weighted_mean(rows, classes, std::vector<double>(count, 1.0));
    case FramePooling::kExpressive: {
      // A small floor keeps an all-neutral clip a plain mean instead of a division by ~0.
      std::vector<double> w(count);
      for (int f = 0; f < count; ++f)
        w[f] = expressiveness(rows + f * classes, classes, neutral_class) + 1e-3;
      return weighted_mean(rows, classes, w);
    }
    case FramePooling::kTopHalf: {
      std::vector<double> e(count);
      for (int f = 0; f < count; ++f)
        e[f] = expressiveness(rows + f * classes, classes, neutral_class);
      std::vector<int> order(count);
      std::iota(order.begin(), order.end(), 0);
      // Ties keep frame order, so the choice does not depend on the sort's whims.
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return e[a] > e[b]; });
      std::vector<double> w(count, 0.0);
      for (int i = 0; i < (count + 1) / 2; ++i) w[order[i]] = 1.0;
      return weighted_mean(rows, classes, w);
    }
    case FramePooling::kPeak:
      return peak_frame(rows, count, classes);
    case FramePooling::kSustained:
      return sustained_expression(rows, count, classes, neutral_class);
  }
  return {};
}

}  // namespace hesp::models

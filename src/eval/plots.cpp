// SPDX-License-Identifier: LGPL-2.1-or-later
// The evaluation plots, drawn with OpenCV's primitives so that `hesp eval` needs no plotting
// library: ROC and OSCR curves of every run on one chart each, and one confusion-matrix heat map
// per run.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "hesp/error.h"
#include "hesp/predictions.h"

namespace hesp::eval {

namespace {

const cv::Scalar kBlack(0, 0, 0);
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kGrid(225, 225, 225);
const cv::Scalar kGray(140, 140, 140);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Matplotlib's "tab10" colours (BGR): distinct, and familiar from papers' plots.
const cv::Scalar kPalette[] = {{180, 119, 31},  {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                               {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                               {34, 189, 188},  {207, 190, 23}};

cv::Scalar run_colour(std::size_t i) {
  return kPalette[i % (sizeof(kPalette) / sizeof(*kPalette))];
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string shorten(const std::string& s, std::size_t max_chars) {
  return s.size() <= max_chars ? s : s.substr(0, max_chars - 3) + "...";
}

cv::Size text_size(const std::string& s, double scale, int thickness = 1) {
  int baseline = 0;
  return cv::getTextSize(s, kFont, scale, thickness, &baseline);
}

// Text anchored at (x, y): ax/ay = 0 left/top, 0.5 centre, 1 right/bottom of the glyphs.
void draw_text(cv::Mat& img, const std::string& s, double x, double y, double scale, double ax = 0.,
               double ay = 0., const cv::Scalar& colour = kBlack, int thickness = 1) {
  const cv::Size sz = text_size(s, scale, thickness);
  const cv::Point org(static_cast<int>(std::lround(x - ax * sz.width)),
                      static_cast<int>(std::lround(y + (1. - ay) * sz.height)));
  cv::putText(img, s, org, kFont, scale, colour, thickness, cv::LINE_AA);
}

// Text turned 90 degrees anticlockwise (read bottom to top), centred on (cx, cy). Drawn as a
// coverage mask and blended in, so it keeps its anti-aliasing on any background.
void draw_text_vertical(cv::Mat& img, const std::string& s, int cx, int cy, double scale,
                        const cv::Scalar& colour = kBlack) {
  int baseline = 0;
  const cv::Size sz = cv::getTextSize(s, kFont, scale, 1, &baseline);
  cv::Mat mask(sz.height + baseline + 4, sz.width + 4, CV_8UC1, cv::Scalar(0));
  cv::putText(mask, s, cv::Point(2, sz.height + 2), kFont, scale, cv::Scalar(255), 1, cv::LINE_AA);
  cv::rotate(mask, mask, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int x0 = cx - mask.cols / 2;
  const int y0 = cy - mask.rows / 2;
  for (int y = 0; y < mask.rows; ++y) {
    for (int x = 0; x < mask.cols; ++x) {
      const int ix = x0 + x;
      const int iy = y0 + y;
      if (ix < 0 || iy < 0 || ix >= img.cols || iy >= img.rows) continue;
      const double a = mask.at<unsigned char>(y, x) / 255.;
      auto& p = img.at<cv::Vec3b>(iy, ix);
      for (int c = 0; c < 3; ++c)
        p[c] = cv::saturate_cast<unsigned char>(p[c] * (1. - a) + colour[c] * a);
    }
  }
}

void dashed_line(cv::Mat& img, cv::Point2d a, cv::Point2d b, const cv::Scalar& colour) {
  const double len = cv::norm(b - a);
  const int dashes = std::max(1, static_cast<int>(len / 12.));
  for (int i = 0; i < dashes; ++i) {
    const cv::Point2d p = a + (b - a) * (static_cast<double>(i) / dashes);
    const cv::Point2d q = a + (b - a) * ((i + 0.55) / dashes);
    cv::line(img, p, q, colour, 1, cv::LINE_AA);
  }
}

struct LegendEntry {
  std::string text;
  cv::Scalar colour;
  bool dashed = false;
};

// A unit-square chart (both axes 0..1) with grid, ticks, axis labels, a title and a legend.
class Chart {
 public:
  Chart(const std::string& title, const std::string& x_label, const std::string& y_label)
      : img_(kHeight, kWidth, CV_8UC3, kWhite),
        area_(kLeft, kTop, kWidth - kLeft - kRight, kHeight - kTop - kBottom) {
    draw_text(img_, title, kWidth / 2., 16, 0.62, 0.5, 0., kBlack, 1);
    for (int i = 0; i <= 10; ++i) {
      const double t = i / 10.;
      const cv::Point2d gx = at(t, 0.);
      const cv::Point2d gy = at(0., t);
      cv::line(img_, gx, at(t, 1.), kGrid, 1);
      cv::line(img_, gy, at(1., t), kGrid, 1);
      if (i % 2) continue;  // label every 0.2: denser labels crowd each other
      cv::line(img_, gx, gx + cv::Point2d(0, 6), kBlack, 1);
      cv::line(img_, gy, gy - cv::Point2d(6, 0), kBlack, 1);
      draw_text(img_, fixed(t, 1), gx.x, gx.y + 10, 0.45, 0.5, 0.);
      draw_text(img_, fixed(t, 1), gy.x - 10, gy.y, 0.45, 1., 0.5);
    }
    cv::rectangle(img_, area_, kBlack, 1);
    draw_text(img_, x_label, area_.x + area_.width / 2., area_.br().y + 36, 0.52, 0.5, 0.);
    draw_text_vertical(img_, y_label, 22, area_.y + area_.height / 2, 0.52);
  }

  cv::Point2d at(double x, double y) const {
    return {area_.x + x * area_.width, area_.y + (1. - y) * area_.height};
  }

  void curve(const std::vector<double>& xs, const std::vector<double>& ys,
             const cv::Scalar& colour) {
    std::vector<cv::Point> pts;
    // Fixed-point coordinates (4 fractional bits) keep steps of a few clips from rounding away.
    constexpr int kShift = 4;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const cv::Point2d p = at(xs[i], ys[i]) * (1 << kShift);
      pts.emplace_back(static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y)));
    }
    cv::polylines(img_, pts, false, colour, 2, cv::LINE_AA, kShift);
  }

  void diagonal(const cv::Scalar& colour) { dashed_line(img_, at(0., 0.), at(1., 1.), colour); }

  // Legend in the lower right corner, where both ROC and OSCR curves leave room.
  void legend(const std::vector<LegendEntry>& entries) {
    if (entries.empty()) return;
    constexpr double kScale = 0.45;
    int text_w = 0;
    for (const auto& e : entries) text_w = std::max(text_w, text_size(e.text, kScale).width);
    const int row_h = 20;
    const int w = text_w + 50;
    const int h = row_h * static_cast<int>(entries.size()) + 10;
    const cv::Rect box(area_.br().x - w - 10, area_.br().y - h - 10, w, h);
    cv::rectangle(img_, box, kWhite, cv::FILLED);
    cv::rectangle(img_, box, kGray, 1);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const double y = box.y + 5 + row_h * (i + 0.5);
      const cv::Point2d a(box.x + 8, y);
      const cv::Point2d b(box.x + 36, y);
      if (entries[i].dashed) {
        dashed_line(img_, a, b, entries[i].colour);
      } else {
        cv::line(img_, a, b, entries[i].colour, 2, cv::LINE_AA);
      }
      draw_text(img_, entries[i].text, box.x + 42, y, kScale, 0., 0.5);
    }
  }

  const cv::Mat& image() const { return img_; }

 private:
  static constexpr int kWidth = 680;
  static constexpr int kHeight = 660;
  static constexpr int kLeft = 80;
  static constexpr int kRight = 30;
  static constexpr int kTop = 46;
  static constexpr int kBottom = 64;
  cv::Mat img_;
  cv::Rect area_;
};

void save(const cv::Mat& img, const std::string& path) {
  bool ok = false;
  try {
    ok = cv::imwrite(path, img);
  } catch (const cv::Exception& e) {
    throw Error("cannot write plot '" + path + "': " + e.what());
  }
  if (!ok) throw Error("cannot write plot '" + path + "'");
}

std::string legend_name(const RunEvaluation& r) { return shorten(r.name, 28); }

cv::Mat roc_plot(const std::vector<RunEvaluation>& runs) {
  Chart chart("ROC: known vs unknown by open-set score",
              "False positive rate (unknown clips accepted)",
              "True positive rate (known clips accepted)");
  chart.diagonal(kGray);
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i].roc) continue;
    chart.curve(runs[i].roc->fpr, runs[i].roc->tpr, run_colour(i));
    legend.push_back(
        {legend_name(runs[i]) + "  AUROC " + fixed(*runs[i].metrics.auroc, 1), run_colour(i)});
  }
  legend.push_back({"chance", kGray, true});
  chart.legend(legend);
  return chart.image();
}

cv::Mat oscr_plot(const std::vector<RunEvaluation>& runs) {
  Chart chart("OSCR: correct classification vs unknown accepted",
              "False positive rate (unknown clips accepted)",
              "Correct classification rate (known, accepted, right class)");
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i].oscr) continue;
    chart.curve(runs[i].oscr->fpr, runs[i].oscr->ccr, run_colour(i));
    legend.push_back(
        {legend_name(runs[i]) + "  OSCR " + fixed(*runs[i].metrics.oscr, 1), run_colour(i)});
  }
  chart.legend(legend);
  return chart.image();
}

// White for 0, deep blue for 1 (BGR), through a lighter blue so that mid values read clearly.
cv::Scalar heat_colour(double f) {
  const cv::Scalar mid(225, 160, 90);
  const cv::Scalar high(110, 40, 8);
  f = std::clamp(f, 0., 1.);
  if (f < 0.5) return kWhite + (mid - kWhite) * (f / 0.5);
  return mid + (high - mid) * ((f - 0.5) / 0.5);
}

cv::Mat confusion_plot(const RunEvaluation& r) {
  const ConfusionMatrix& m = r.confusion;
  std::vector<std::string> rows = r.classes;
  std::vector<std::string> cols = r.classes;
  if (m.unknown_row) rows.push_back("unknown");
  if (m.unknown_column) cols.push_back("unknown");
  const int n_rows = static_cast<int>(rows.size());
  const int n_cols = static_cast<int>(cols.size());
  const int cell = std::clamp(640 / std::max(n_rows, n_cols), 30, 72);
  constexpr double kLabel = 0.45;

  int row_label_w = 0;
  for (const auto& s : rows) row_label_w = std::max(row_label_w, text_size(s, kLabel).width);
  int col_label_w = 0;
  for (const auto& s : cols) col_label_w = std::max(col_label_w, text_size(s, kLabel).width);
  // Column names are written across when they fit their cell, else turned to read upwards.
  const bool vertical_cols = col_label_w > cell - 6;
  const int col_label_h = vertical_cols ? col_label_w + 12 : 24;

  const std::string title = "Confusion matrix: " + shorten(r.name, 40);
  std::string subtitle = "ACC " + fixed(r.metrics.acc, 1) + "   UAR " + fixed(r.metrics.uar, 1) +
                         "   colour: share of the row";
  if (r.unknown_threshold) subtitle += "   unknown: score < " + fixed(*r.unknown_threshold, 3);

  const int left = 40 + row_label_w + 12;
  const int top = 64;
  const int grid_w = n_cols * cell;
  const int grid_h = n_rows * cell;
  const int bar_gap = 28;
  const int bar_w = 18;
  const int right = bar_gap + bar_w + 80;
  const int width = std::max({left + grid_w + right, text_size(title, 0.62).width + 40,
                              text_size(subtitle, 0.45).width + 40});
  const int height = top + grid_h + col_label_h + 44;
  cv::Mat img(height, width, CV_8UC3, kWhite);

  draw_text(img, title, width / 2., 12, 0.62, 0.5, 0.);
  draw_text(img, subtitle, width / 2., 38, 0.45, 0.5, 0., kGray);

  const double count_scale = cell >= 48 ? 0.5 : 0.4;
  for (int i = 0; i < n_rows; ++i) {
    std::int64_t total = 0;
    for (auto v : m.counts[i]) total += v;
    for (int j = 0; j < n_cols; ++j) {
      const cv::Rect c(left + j * cell, top + i * cell, cell, cell);
      const std::int64_t n = m.counts[i][j];
      const double f = total > 0 ? static_cast<double>(n) / static_cast<double>(total) : 0.;
      cv::rectangle(img, c, heat_colour(f), cv::FILLED);
      const cv::Scalar ink = f > 0.55 ? kWhite : kBlack;
      const double cx = c.x + cell / 2.;
      const double cy = c.y + cell / 2.;
      // Percentages only where there is something to read: zeros stay a quiet "0".
      if (cell >= 44 && n > 0) {
        draw_text(img, std::to_string(n), cx, cy - 2, count_scale, 0.5, 1., ink);
        draw_text(img, fixed(100. * f, 0) + "%", cx, cy + 5, 0.36, 0.5, 0., ink);
      } else {
        draw_text(img, total > 0 ? std::to_string(n) : "-", cx, cy, count_scale, 0.5, 0.5, ink);
      }
    }
    draw_text(img, rows[i], left - 8, top + (i + 0.5) * cell, kLabel, 1., 0.5);
  }
  for (int i = 0; i <= n_rows; ++i)
    cv::line(img, {left, top + i * cell}, {left + grid_w, top + i * cell}, kGrid, 1);
  for (int j = 0; j <= n_cols; ++j)
    cv::line(img, {left + j * cell, top}, {left + j * cell, top + grid_h}, kGrid, 1);
  // Set the open-set row and column apart from the known classes.
  if (m.unknown_row)
    cv::line(img, {left, top + (n_rows - 1) * cell}, {left + grid_w, top + (n_rows - 1) * cell},
             kBlack, 2);
  if (m.unknown_column)
    cv::line(img, {left + (n_cols - 1) * cell, top}, {left + (n_cols - 1) * cell, top + grid_h},
             kBlack, 2);
  cv::rectangle(img, cv::Rect(left, top, grid_w, grid_h), kBlack, 1);

  for (int j = 0; j < n_cols; ++j) {
    const double cx = left + (j + 0.5) * cell;
    if (vertical_cols) {
      const int w = text_size(cols[j], kLabel).width;
      draw_text_vertical(img, cols[j], static_cast<int>(cx), top + grid_h + 8 + w / 2, kLabel);
    } else {
      draw_text(img, cols[j], cx, top + grid_h + 8, kLabel, 0.5, 0.);
    }
  }
  draw_text(img, "Predicted class", left + grid_w / 2., top + grid_h + col_label_h + 12, 0.52, 0.5,
            0.);
  draw_text_vertical(img, "True class", 20, top + grid_h / 2, 0.52);

  // Colour bar: what the shades mean.
  const int bx = left + grid_w + bar_gap;
  for (int y = 0; y < grid_h; ++y) {
    const double f = 1. - static_cast<double>(y) / std::max(1, grid_h - 1);
    cv::line(img, {bx, top + y}, {bx + bar_w - 1, top + y}, heat_colour(f), 1);
  }
  cv::rectangle(img, cv::Rect(bx, top, bar_w, grid_h), kBlack, 1);
  for (int pct = 0; pct <= 100; pct += 25) {
    const int y = top + static_cast<int>(std::lround((1. - pct / 100.) * (grid_h - 1)));
    cv::line(img, {bx + bar_w, y}, {bx + bar_w + 4, y}, kBlack, 1);
    draw_text(img, std::to_string(pct) + "%", bx + bar_w + 8, y, 0.4, 0., 0.5);
  }
  return img;
}

std::string file_safe(const std::string& s) {
  std::string out;
  for (char c : s)
    out +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  return out.empty() ? "run" : shorten(out, 60);
}

}  // namespace

EvaluationPlots write_evaluation_plots(const std::vector<RunEvaluation>& runs,
                                       const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    throw Error("cannot create plot folder '" + dir + "'" + (ec ? ": " + ec.message() : ""));
  const std::filesystem::path base(dir);
  EvaluationPlots out;
  const bool open_set = std::any_of(runs.begin(), runs.end(),
                                    [](const RunEvaluation& r) { return r.roc.has_value(); });
  if (open_set) {
    out.roc = (base / "roc.png").string();
    save(roc_plot(runs), out.roc);
    out.oscr = (base / "oscr.png").string();
    save(oscr_plot(runs), out.oscr);
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string name = runs.size() == 1 ? "confusion.png"
                                              : "confusion-" + std::to_string(i + 1) + "-" +
                                                    file_safe(runs[i].name) + ".png";
    out.confusion.push_back((base / name).string());
    save(confusion_plot(runs[i]), out.confusion.back());
  }
  return out;
}

}  // namespace hesp::eval

// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-hespoverlay
 * @title: hespoverlay
 *
 * Draws every face ROI (roi_type "face") on the video: a box and a label `#id label 87%`, where
 * `#id` is the track id (`object_id` params), `label` and the percentage come from the
 * `expression` params hespinfer writes. Each class id has its own fixed colour. A face whose
 * expression is `unknown` gets a grey dashed box and the label `#id unknown`; a face that has no
 * expression yet gets a white box and `#id` alone.
 *
 * Line width and text size follow the frame size unless `line-width` / `font-scale` are set. The
 * label sits above the box; at the top edge of the frame it moves below the box (or inside it
 * when there is no room below either), and it is shifted left at the right edge, so the text stays
 * inside the frame. Labels use OpenCV's Hershey font, which only has ASCII glyphs: other
 * characters are drawn as `?`.
 *
 * Only the box outline and the label rectangle are written; every other pixel is left as it
 * was. RGB, BGR, RGBA, BGRA, ARGB, ABGR, RGBx, BGRx, xRGB, xBGR, I420, YV12, NV12, NV21, Y42B,
 * Y444, YUY2, UYVY and GRAY8 are drawn directly (YUV colours follow the stream's colorimetry);
 * put a `videoconvert` in front for anything else.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespoverlay ! videoconvert ! autovideosink
 * ]| Boxes and track ids only.
 * |[
 * gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! hespfacecrop ! \
 *     hespclipbatch ! hespinfer ! hespoverlay line-width=2 ! videoconvert ! autovideosink
 * ]| Boxes with the recognised expressions.
 */
#include "overlay/gsthespoverlay.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "common/element_class.h"
#include "common/element_state.h"
#include "common/expression_params.h"
#include "common/face_roi.h"
#include "common/guard.h"
#include "common/property_table.h"
#include "common/video_image.h"

GST_DEBUG_CATEGORY_STATIC(gst_hesp_overlay_debug);
#define GST_CAT_DEFAULT gst_hesp_overlay_debug

#define OVERLAY_FORMATS                                                                        \
  "{ RGB, BGR, RGBA, BGRA, ARGB, ABGR, RGBx, BGRx, xRGB, xBGR, I420, YV12, NV12, NV21, Y42B, " \
  "Y444, YUY2, UYVY, GRAY8 }"

namespace {

constexpr guint kMaxLineWidth = 64;
constexpr double kMaxFontScale = 10.0;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Property values; the initialisers are the properties' defaults.
struct Settings {
  bool draw_labels = true;
  bool draw_scores = true;
  bool show_unknown = true;
  guint line_width = 0;
  double font_scale = 0.0;
};

// Drawing keeps nothing from frame to frame: the state is only the sticky failure flag.
struct State {};

using Private = hesp::gst::ElementData<Settings, State>;

struct Rgb {
  std::uint8_t r, g, b;
};

// Saturated colours that stay apart from each other and from the grey / white styles below, so
// a class is recognisable at a glance; class ids beyond the palette wrap around.
constexpr std::array<Rgb, 10> kPalette = {{{0, 200, 83},
                                           {255, 193, 7},
                                           {33, 150, 243},
                                           {244, 67, 54},
                                           {156, 39, 176},
                                           {255, 111, 0},
                                           {0, 188, 212},
                                           {233, 30, 99},
                                           {205, 220, 57},
                                           {121, 85, 72}}};
constexpr Rgb kUnknownColour{160, 160, 160};
constexpr Rgb kPendingColour{255, 255, 255};

// What to draw for one face, in frame pixels.
struct Annotation {
  cv::Rect box;
  Rgb colour;
  bool dashed = false;
  std::string text;  // empty: no label
};

struct Style {
  int line_width;
  double font_scale;
  int text_thickness;
};

// Auto sizes are chosen so that a 1080p frame gets 4-pixel lines and ~22-pixel capitals, and the
// smallest frames still get readable text.
Style style_for(const Settings& s, int width, int height) {
  const int short_side = std::min(width, height);
  Style style;
  style.line_width = s.line_width > 0
                         ? static_cast<int>(s.line_width)
                         : std::max(1, static_cast<int>(std::lround(short_side / 300.0)));
  style.font_scale = s.font_scale > 0.0 ? s.font_scale : std::max(0.35, short_side / 1080.0);
  style.text_thickness = std::max(1, static_cast<int>(std::lround(style.font_scale * 1.5)));
  return style;
}

// Hershey fonts have ASCII glyphs only; one '?' per UTF-8 sequence keeps the label's length
// close to what the reader expects instead of one '?' per byte.
std::string ascii_only(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x80) {
      out.push_back(c >= 0x20 ? static_cast<char>(c) : '?');
    } else if ((c & 0xC0) != 0x80) {
      out.push_back('?');
    }
  }
  return out;
}

std::vector<Annotation> annotations_of(GstBuffer* buffer, const Settings& s, int width,
                                       int height) {
  std::vector<Annotation> out;
  const cv::Rect frame(0, 0, width, height);
  for (const auto& face : hesp::gst::face_rois(buffer)) {
    Annotation a;
    a.box = cv::Rect(static_cast<int>(face.box.x), static_cast<int>(face.box.y),
                     static_cast<int>(face.box.width), static_cast<int>(face.box.height)) &
            frame;
    if (a.box.empty()) continue;
    hesp::gst::ExpressionParams expr;
    const bool has_expr = hesp::gst::get_expression(face.meta, &expr);
    std::string text = face.track_id >= 0 ? "#" + std::to_string(face.track_id) : "";
    std::string detail;
    if (!has_expr) {
      a.colour = kPendingColour;
    } else if (expr.is_unknown) {
      if (!s.show_unknown) continue;
      a.colour = kUnknownColour;
      a.dashed = true;
      detail = "unknown";
    } else {
      const auto index = static_cast<std::size_t>(std::abs(expr.label_id)) % kPalette.size();
      a.colour = kPalette[index];
      detail = ascii_only(expr.label);
      if (s.draw_scores) {
        const long percent = std::lround(std::clamp(expr.confidence, 0.0, 1.0) * 100.0);
        detail += " " + std::to_string(percent) + "%";
      }
    }
    if (!detail.empty()) text += text.empty() ? detail : " " + detail;
    if (s.draw_labels) a.text = std::move(text);
    out.push_back(std::move(a));
  }
  return out;
}

// Colour values per video component (R,G,B / Y,U,V / gray, then alpha) for the frame's format.
// YUV uses the stream's matrix and range so a colour looks the same after conversion to RGB.
std::array<std::uint8_t, 4> components_of(const GstVideoInfo* info, Rgb rgb) {
  std::array<std::uint8_t, 4> out{rgb.r, rgb.g, rgb.b, 255};
  const GstVideoFormatInfo* finfo = info->finfo;
  if (!GST_VIDEO_FORMAT_INFO_IS_YUV(finfo) && !GST_VIDEO_FORMAT_INFO_IS_GRAY(finfo)) return out;
  gdouble kr = 0.299, kb = 0.114;
  if (info->colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_RGB ||
      !gst_video_color_matrix_get_Kr_Kb(info->colorimetry.matrix, &kr, &kb)) {
    kr = 0.299;
    kb = 0.114;
  }
  const double r = rgb.r / 255.0, g = rgb.g / 255.0, b = rgb.b / 255.0;
  const double y = kr * r + (1.0 - kr - kb) * g + kb * b;
  const auto to_byte = [](double v) {
    return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
  };
  if (GST_VIDEO_FORMAT_INFO_IS_GRAY(finfo)) {
    out[0] = to_byte(y * 255.0);
    return out;
  }
  const double pb = 0.5 * (b - y) / (1.0 - kb);
  const double pr = 0.5 * (r - y) / (1.0 - kr);
  gint offset[4], scale[4];
  gst_video_color_range_offsets(info->colorimetry.range, finfo, offset, scale);
  out[0] = to_byte(offset[0] + y * scale[0]);
  out[1] = to_byte(offset[1] + pb * scale[1]);
  out[2] = to_byte(offset[2] + pr * scale[2]);
  return out;
}

Rgb ink_for(Rgb fill) {
  const double luma = 0.299 * fill.r + 0.587 * fill.g + 0.114 * fill.b;
  return luma > 140.0 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
}

// Fills one box edge of `thickness`, solid or as dashes that always cover both ends so the
// corners of a dashed box are marked.
void draw_edge(cv::Mat& mask, cv::Point origin, int length, bool horizontal, int thickness,
               bool dashed) {
  const auto segment = [&](int start, int len) {
    const cv::Rect r = horizontal ? cv::Rect(origin.x + start, origin.y, len, thickness)
                                  : cv::Rect(origin.x, origin.y + start, thickness, len);
    mask(r & cv::Rect(0, 0, mask.cols, mask.rows)).setTo(255);
  };
  const int dash = std::max(4, 3 * thickness);
  if (!dashed || length <= 3 * dash) {
    segment(0, dashed ? std::min(length, dash) : length);
    if (dashed && length > dash) segment(length - dash, dash);
    return;
  }
  const int count = std::max(2, (length + dash) / (2 * dash));
  const double spacing = static_cast<double>(length - dash) / (count - 1);
  for (int i = 0; i < count; ++i) segment(static_cast<int>(std::lround(i * spacing)), dash);
}

// Writes `fill` where `shape` is set and then `ink` blended by the anti-aliased `text` coverage,
// into every component of the frame. Subsampled components (chroma of 4:2:0 / 4:2:2, packed
// YUV) take a sample wherever any pixel of its block is covered, so thin lines keep their colour.
void composite(GstVideoFrame* frame, const cv::Rect& region, const cv::Mat& shape,
               const cv::Mat& text, const std::array<std::uint8_t, 4>& fill,
               const std::array<std::uint8_t, 4>& ink) {
  const GstVideoFormatInfo* finfo = frame->info.finfo;
  const guint n_components = GST_VIDEO_FRAME_N_COMPONENTS(frame);
  for (guint c = 0; c < n_components; ++c) {
    const bool alpha = c == GST_VIDEO_COMP_A;
    const int wsub = GST_VIDEO_FORMAT_INFO_W_SUB(finfo, c);
    const int hsub = GST_VIDEO_FORMAT_INFO_H_SUB(finfo, c);
    auto* data = static_cast<std::uint8_t*>(GST_VIDEO_FRAME_COMP_DATA(frame, c));
    const int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, c);
    const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c);
    const int x0 = region.x >> wsub, x1 = (region.x + region.width - 1) >> wsub;
    const int y0 = region.y >> hsub, y1 = (region.y + region.height - 1) >> hsub;
    for (int cy = y0; cy <= y1; ++cy) {
      const int by0 = std::max(cy << hsub, region.y) - region.y;
      const int by1 = std::min((cy + 1) << hsub, region.y + region.height) - region.y;
      std::uint8_t* row = data + static_cast<std::ptrdiff_t>(cy) * stride;
      for (int cx = x0; cx <= x1; ++cx) {
        const int bx0 = std::max(cx << wsub, region.x) - region.x;
        const int bx1 = std::min((cx + 1) << wsub, region.x + region.width) - region.x;
        int cover = 0, ink_alpha = 0;
        for (int y = by0; y < by1; ++y) {
          const std::uint8_t* s = shape.ptr<std::uint8_t>(y);
          const std::uint8_t* t = text.ptr<std::uint8_t>(y);
          for (int x = bx0; x < bx1; ++x) {
            cover = std::max<int>(cover, s[x]);
            ink_alpha = std::max<int>(ink_alpha, t[x]);
          }
        }
        if (cover == 0 && ink_alpha == 0) continue;
        std::uint8_t& px = row[static_cast<std::ptrdiff_t>(cx) * pstride];
        if (alpha) {
          px = 255;
          continue;
        }
        int v = cover ? fill[c] : px;
        v = (v * (255 - ink_alpha) + ink[c] * ink_alpha + 127) / 255;
        px = static_cast<std::uint8_t>(v);
      }
    }
  }
}

void draw(GstVideoFrame* frame, const Annotation& a, const Style& style) {
  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  const cv::Rect frame_rect(0, 0, width, height);

  cv::Rect label;
  cv::Point text_origin;
  if (!a.text.empty()) {
    int baseline = 0;
    const cv::Size size =
        cv::getTextSize(a.text, kFont, style.font_scale, style.text_thickness, &baseline);
    const int pad = std::max(2, size.height / 4);
    label = cv::Rect(0, 0, size.width + 2 * pad, size.height + baseline + 2 * pad);
    label.x = a.box.x;
    label.y = a.box.y - label.height;
    if (label.y < 0) {
      label.y = a.box.br().y;
      if (label.br().y > height) label.y = a.box.y;
    }
    label.x = std::clamp(label.x, 0, std::max(0, width - label.width));
    label.y = std::clamp(label.y, 0, std::max(0, height - label.height));
    text_origin = cv::Point(label.x + pad, label.y + pad + size.height);
    label &= frame_rect;
  }
  const cv::Rect region = (label.empty() ? a.box : (a.box | label)) & frame_rect;
  if (region.empty()) return;

  cv::Mat shape = cv::Mat::zeros(region.size(), CV_8UC1);
  cv::Mat text = cv::Mat::zeros(region.size(), CV_8UC1);
  const cv::Point o = a.box.tl() - region.tl();
  const int t = std::min({style.line_width, a.box.width, a.box.height});
  draw_edge(shape, o, a.box.width, true, t, a.dashed);
  draw_edge(shape, o + cv::Point(0, a.box.height - t), a.box.width, true, t, a.dashed);
  draw_edge(shape, o, a.box.height, false, t, a.dashed);
  draw_edge(shape, o + cv::Point(a.box.width - t, 0), a.box.height, false, t, a.dashed);
  if (!label.empty()) {
    shape(label - region.tl()).setTo(255);
    cv::putText(text, a.text, text_origin - region.tl(), kFont, style.font_scale, cv::Scalar(255),
                style.text_thickness, cv::LINE_AA);
    // Glyph edges must not spill outside the label rectangle onto the video.
    cv::Mat outside = cv::Mat::ones(region.size(), CV_8UC1);
    outside(label - region.tl()).setTo(0);
    text.setTo(0, outside);
  }
  composite(frame, region, shape, text, components_of(&frame->info, a.colour),
            components_of(&frame->info, ink_for(a.colour)));
}

}  // namespace

struct _GstHespOverlay {
  GstVideoFilter parent;
  Private* priv;
};

#define gst_hesp_overlay_parent_class parent_class
G_DEFINE_TYPE(GstHespOverlay, gst_hesp_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(hespoverlay, "hespoverlay", GST_RANK_NONE, GST_TYPE_HESP_OVERLAY);

static GstFlowReturn gst_hesp_overlay_transform_frame_ip(GstVideoFilter* filter,
                                                         GstVideoFrame* frame) {
  auto* self = GST_HESP_OVERLAY(filter);
  const Settings settings = self->priv->settings.get();
  auto locked = self->priv->lock_state();
  if (locked.failed()) return GST_FLOW_ERROR;
  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  const bool ok = HESP_GUARD(self, "Drawing the face overlay failed", [&] {
    const std::vector<Annotation> annotations =
        annotations_of(frame->buffer, settings, width, height);
    if (annotations.empty()) return;
    const Style style = style_for(settings, width, height);
    for (const auto& a : annotations) draw(frame, a, style);
    GST_LOG_OBJECT(self, "drew %zu faces", annotations.size());
  });
  return locked.flow_return(ok);
}

static void gst_hesp_overlay_class_init(GstHespOverlayClass* klass) {
  static const hesp::gst::ElementDoc doc{
      "hespoverlay", "HESP expression overlay", "Filter/Effect/Video",
      "Draws face boxes and '#id label 87%' expression labels ('#id unknown' for open-set "
      "rejects). Example: gst-launch-1.0 filesrc location=movie.avi ! decodebin ! videoconvert ! "
      "hespfacecrop ! hespclipbatch ! hespinfer ! hespoverlay ! videoconvert ! autovideosink"};
  // Every setting is read per frame, so all of them may change while PLAYING.
  using namespace hesp::gst;  // the property rows and flags
  init_video_filter_class<GstHespOverlay, gst_hesp_overlay_get_type>(
      klass, doc, &gst_hesp_overlay_debug, GST_VIDEO_CAPS_MAKE(OVERLAY_FORMATS),
      {start_empty_state<GstHespOverlay>, nullptr, nullptr, nullptr,
       gst_hesp_overlay_transform_frame_ip},
      {
          boolean_property("draw-labels", "Draw labels",
                           "Draw the label (#id, expression, score) next to each box; false "
                           "draws boxes only",
                           &Settings::draw_labels, kMutablePlaying),
          boolean_property("draw-scores", "Draw scores",
                           "Append the expression's confidence as a percentage to known labels",
                           &Settings::draw_scores, kMutablePlaying),
          boolean_property("show-unknown", "Show unknown",
                           "Draw faces whose expression is unknown (grey dashed box); false "
                           "leaves them undrawn",
                           &Settings::show_unknown, kMutablePlaying),
          uint_property("line-width", "Line width",
                        "Box line width in pixels; 0 = scale with the frame size (1 pixel per "
                        "300 pixels of the shorter side, at least 1)",
                        0, kMaxLineWidth, &Settings::line_width, kMutablePlaying),
          double_property("font-scale", "Font scale",
                          "Label text scale (OpenCV Hershey scale, 1.0 = about 22-pixel "
                          "capitals); 0 = scale with the frame size (shorter side / 1080, at "
                          "least 0.35)",
                          0.0, kMaxFontScale, &Settings::font_scale, kMutablePlaying),
      });
}

static void gst_hesp_overlay_init(GstHespOverlay* self) { hesp::gst::init_in_place(self); }

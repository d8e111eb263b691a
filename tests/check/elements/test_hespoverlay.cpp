// SPDX-License-Identifier: LGPL-2.1-or-later
// hespoverlay: what is drawn where. Each test pushes a patterned frame carrying face ROIs through
// the element and compares the output with the input, pixel by pixel, in the frame's own format.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/expression_params.h"
#include "common/face_roi.h"

namespace {

struct Rect {
  int x, y, w, h;
  bool contains(int px, int py) const { return px >= x && px < x + w && py >= y && py < y + h; }
};

struct Face {
  Rect box;
  int track_id;
  bool has_expression = false;
  std::string label;
  int label_id = -1;
  double confidence = 0.0;
  bool unknown = false;
};

Face known(Rect box, int id, const char* label, int label_id, double confidence) {
  return Face{box, id, true, label, label_id, confidence, false};
}
Face unknown_face(Rect box, int id) { return Face{box, id, true, "unknown", -1, 0.4, true}; }
Face pending(Rect box, int id) { return Face{box, id, false, "", -1, 0.0, false}; }

// A frame in any 8-bit format and its pixels, compared component by component.
class Frame {
 public:
  Frame(GstBuffer* buffer, const GstVideoInfo& info) : info_(info) {
    EXPECT_TRUE(gst_video_frame_map(&frame_, &info_, buffer, GST_MAP_READ));
  }
  ~Frame() { gst_video_frame_unmap(&frame_); }
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;

  int width() const { return GST_VIDEO_INFO_WIDTH(&info_); }
  int height() const { return GST_VIDEO_INFO_HEIGHT(&info_); }

  // The component sample that covers pixel (x, y).
  guint8 sample(guint c, int x, int y) const {
    const GstVideoFormatInfo* f = info_.finfo;
    const auto* data = static_cast<const guint8*>(GST_VIDEO_FRAME_COMP_DATA(&frame_, c));
    const int cx = x >> GST_VIDEO_FORMAT_INFO_W_SUB(f, c);
    const int cy = y >> GST_VIDEO_FORMAT_INFO_H_SUB(f, c);
    return data[cy * GST_VIDEO_FRAME_COMP_STRIDE(&frame_, c) +
                cx * GST_VIDEO_FRAME_COMP_PSTRIDE(&frame_, c)];
  }

  // Colour components of pixel (x, y), alpha excluded.
  std::vector<int> pixel(int x, int y) const {
    std::vector<int> out;
    for (guint c = 0; c < std::min(3u, GST_VIDEO_FRAME_N_COMPONENTS(&frame_)); ++c)
      out.push_back(sample(c, x, y));
    return out;
  }

 private:
  GstVideoInfo info_;
  GstVideoFrame frame_;
};

class OverlayTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (harness_) gst_harness_teardown(harness_);
  }

  void start(const std::string& format, int width, int height) {
    const std::string caps = "video/x-raw,format=" + format + ",width=" + std::to_string(width) +
                             ",height=" + std::to_string(height) + ",framerate=25/1";
    GstCaps* c = gst_caps_from_string(caps.c_str());
    ASSERT_TRUE(gst_video_info_from_caps(&info_, c));
    gst_caps_unref(c);
    harness_ = gst_harness_new("hespoverlay");
    ASSERT_NE(harness_, nullptr) << "hespoverlay is not registered";
    gst_harness_set_src_caps_str(harness_, caps.c_str());
  }

  void set(const char* property, guint value) {
    g_object_set(harness_->element, property, value, nullptr);
  }
  void set(const char* property, double value) {
    g_object_set(harness_->element, property, value, nullptr);
  }
  void set_bool(const char* property, bool value) {
    g_object_set(harness_->element, property, value ? TRUE : FALSE, nullptr);
  }

  // A low-contrast pattern far from every drawing colour, so any write shows.
  GstBuffer* make_input(const std::vector<Face>& faces, bool person_roi = false) {
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info_), nullptr);
    gst_buffer_memset(buffer, 0, 0, GST_VIDEO_INFO_SIZE(&info_));
    GstVideoFrame frame;
    EXPECT_TRUE(gst_video_frame_map(&frame, &info_, buffer, GST_MAP_WRITE));
    const int base[4] = {90, 105, 150, 200};
    for (guint c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS(&frame); ++c) {
      auto* data = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(&frame, c));
      const int cw = GST_VIDEO_FRAME_COMP_WIDTH(&frame, c);
      const int ch = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, c);
      for (int y = 0; y < ch; ++y)
        for (int x = 0; x < cw; ++x)
          data[y * GST_VIDEO_FRAME_COMP_STRIDE(&frame, c) +
               x * GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, c)] =
              static_cast<guint8>(base[c] + (x + 2 * y) % 8);
    }
    gst_video_frame_unmap(&frame);
    const int w = GST_VIDEO_INFO_WIDTH(&info_), h = GST_VIDEO_INFO_HEIGHT(&info_);
    for (const Face& face : faces) {
      const hesp::Box box{static_cast<float>(face.box.x), static_cast<float>(face.box.y),
                          static_cast<float>(face.box.w), static_cast<float>(face.box.h)};
      GstVideoRegionOfInterestMeta* roi =
          hesp::gst::add_face_roi(buffer, box, 0.9, static_cast<guint>(face.track_id), w, h);
      if (!face.has_expression) continue;
      hesp::gst::ExpressionParams p;
      p.label = face.label;
      p.label_id = face.label_id;
      p.confidence = face.confidence;
      p.is_unknown = face.unknown;
      p.model_name = "test";
      hesp::gst::set_expression(roi, p);
    }
    if (person_roi) gst_buffer_add_video_region_of_interest_meta(buffer, "person", 10, 10, 50, 50);
    return buffer;
  }

  // Pushes a reference to `input` (so it stays unchanged) and returns the drawn frame.
  GstBuffer* run(GstBuffer* input) {
    EXPECT_EQ(gst_harness_push(harness_, gst_buffer_ref(input)), GST_FLOW_OK);
    return gst_harness_pull(harness_);
  }

  // Pixels whose colour differs between the two frames.
  std::vector<std::pair<int, int>> changed(GstBuffer* in, GstBuffer* out) {
    Frame a(in, info_), b(out, info_);
    std::vector<std::pair<int, int>> result;
    for (int y = 0; y < a.height(); ++y)
      for (int x = 0; x < a.width(); ++x)
        if (a.pixel(x, y) != b.pixel(x, y)) result.emplace_back(x, y);
    return result;
  }

  bool subsampled() const {
    for (guint c = 0; c < GST_VIDEO_INFO_N_COMPONENTS(&info_); ++c)
      if (GST_VIDEO_FORMAT_INFO_W_SUB(info_.finfo, c) ||
          GST_VIDEO_FORMAT_INFO_H_SUB(info_.finfo, c))
        return true;
    return false;
  }

  GstHarness* harness_ = nullptr;
  GstVideoInfo info_;
};

struct Bounds {
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
  int count = 0;
  void add(int x, int y) {
    x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
    ++count;
  }
};

// --- Box and label on each format family -------------------------------------------------------

class OverlayFormatTest : public OverlayTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(OverlayFormatTest, DrawsBoxOutlineAndLabelAndNothingElse) {
  start(GetParam(), 320, 240);
  set("line-width", 2u);
  set("font-scale", 0.5);
  const Rect box{100, 80, 80, 60};
  GstBuffer* in = make_input({known(box, 3, "happy", 1, 0.87)});
  GstBuffer* out = run(in);
  ASSERT_NE(out, nullptr);

  // Chroma samples cover 2x2 pixels: a drawn pixel may recolour its neighbour's chroma.
  const int slack = subsampled() ? 1 : 0;
  const Rect label_band{box.x - slack, 0, 320 - box.x + slack, box.y};
  const Rect box_area{box.x - slack, box.y - slack, box.w + 2 * slack, box.h + 2 * slack};
  const Rect interior{box.x + 2 + slack, box.y + 2 + slack, box.w - 4 - 2 * slack,
                      box.h - 4 - 2 * slack};
  Bounds label;
  for (auto [x, y] : changed(in, out)) {
    ASSERT_TRUE(box_area.contains(x, y) || label_band.contains(x, y))
        << GetParam() << ": pixel (" << x << "," << y << ") changed outside box and label";
    EXPECT_FALSE(interior.contains(x, y))
        << GetParam() << ": pixel (" << x << "," << y << ") inside the box changed";
    if (y < box.y - slack) label.add(x, y);
  }
  {
    Frame a(in, info_), b(out, info_);
    for (int x = box.x; x < box.x + box.w; ++x)
      for (int y : {box.y, box.y + 1, box.y + box.h - 2, box.y + box.h - 1})
        ASSERT_NE(a.pixel(x, y), b.pixel(x, y))
            << GetParam() << ": box edge (" << x << "," << y << ") not drawn";
    for (int y = box.y; y < box.y + box.h; ++y)
      for (int x : {box.x, box.x + 1, box.x + box.w - 2, box.x + box.w - 1})
        ASSERT_NE(a.pixel(x, y), b.pixel(x, y))
            << GetParam() << ": box edge (" << x << "," << y << ") not drawn";
  }
  // The label sits on top of the box, starts at its left edge and holds text of "#3 happy 87%".
  ASSERT_GT(label.count, 0) << GetParam() << ": no label drawn";
  EXPECT_LE(std::abs(label.x0 - box.x), slack);
  EXPECT_GE(label.y1, box.y - 1 - slack);
  EXPECT_GE(label.y1 - label.y0 + 1, 12);
  EXPECT_LE(label.y1 - label.y0 + 1, 30);
  EXPECT_GE(label.x1 - label.x0 + 1, 80) << "label too narrow for '#3 happy 87%'";
  // Anti-aliased glyph edges may blend into a pattern value by chance, hence not 100%.
  EXPECT_GE(label.count, (label.x1 - label.x0 + 1) * (label.y1 - label.y0 + 1) * 95 / 100)
      << "label background is not a filled rectangle";
  {
    // Text and background differ inside the label: the rectangle is not one flat colour.
    Frame b(out, info_);
    const auto background = b.pixel(label.x0 + 1, label.y0 + 1);
    int ink = 0;
    for (int y = label.y0; y <= label.y1; ++y)
      for (int x = label.x0; x <= label.x1; ++x) ink += b.pixel(x, y) != background;
    EXPECT_GT(ink, 30) << GetParam() << ": no text in the label";
  }
  gst_buffer_unref(out);
  gst_buffer_unref(in);
}

INSTANTIATE_TEST_SUITE_P(Formats, OverlayFormatTest,
                         ::testing::Values("RGB", "BGRx", "I420", "NV12", "RGBA", "YUY2", "GRAY8"));

// --- Styles --------------------------------------------------------------------------------------

TEST_F(OverlayTest, UnknownUsesADashedGreyBoxUnlikeKnownLabels) {
  start("RGB", 320, 240);
  set("line-width", 2u);
  const Rect box{100, 80, 80, 60};
  GstBuffer* in_known = make_input({known(box, 1, "happy", 1, 0.9)});
  GstBuffer* in_unknown = make_input({unknown_face(box, 1)});
  GstBuffer* in_pending = make_input({pending(box, 1)});
  GstBuffer* out_known = run(in_known);
  GstBuffer* out_unknown = run(in_unknown);
  GstBuffer* out_pending = run(in_pending);
  {
    Frame k(out_known, info_), u(out_unknown, info_), p(out_pending, info_);
    const auto corner_known = k.pixel(box.x, box.y + box.h - 1);
    const auto corner_unknown = u.pixel(box.x, box.y + box.h - 1);
    const auto corner_pending = p.pixel(box.x, box.y + box.h - 1);
    EXPECT_NE(corner_known, corner_unknown);
    EXPECT_NE(corner_pending, corner_unknown);
    // Grey: all three channels equal.
    EXPECT_EQ(corner_unknown[0], corner_unknown[1]);
    EXPECT_EQ(corner_unknown[1], corner_unknown[2]);
    Frame in(in_known, info_);
    int known_drawn = 0, unknown_drawn = 0;
    for (int y = box.y; y < box.y + box.h; ++y) {
      known_drawn += k.pixel(box.x, y) != in.pixel(box.x, y);
      unknown_drawn += u.pixel(box.x, y) != in.pixel(box.x, y);
    }
    EXPECT_EQ(known_drawn, box.h) << "known box edge should be solid";
    EXPECT_LT(unknown_drawn, box.h * 3 / 4) << "unknown box edge should be dashed";
    EXPECT_GT(unknown_drawn, box.h / 4) << "unknown box edge should be dashed, not missing";
  }
  for (GstBuffer* b : {in_known, in_unknown, in_pending, out_known, out_unknown, out_pending})
    gst_buffer_unref(b);
}

TEST_F(OverlayTest, EachClassHasItsOwnFixedColour) {
  start("RGB", 320, 240);
  const Rect box{40, 60, 60, 60};
  std::vector<std::vector<int>> colours;
  for (int label_id : {0, 1, 2, 0}) {
    GstBuffer* in = make_input({known(box, 5, "x", label_id, 0.5)});
    GstBuffer* out = run(in);
    {
      Frame f(out, info_);
      colours.push_back(f.pixel(box.x, box.y + box.h - 1));
    }
    gst_buffer_unref(out);
    gst_buffer_unref(in);
  }
  EXPECT_NE(colours[0], colours[1]);
  EXPECT_NE(colours[1], colours[2]);
  EXPECT_NE(colours[0], colours[2]);
  EXPECT_EQ(colours[0], colours[3]) << "the same class must keep its colour";
}

TEST_F(OverlayTest, LabelStaysInsideTheFrameAtTheTopRightCorner) {
  start("RGB", 320, 240);
  set("line-width", 2u);
  set("font-scale", 0.5);
  const Rect box{260, 0, 60, 50};  // touches the top and right edges
  GstBuffer* in = make_input({known(box, 12, "surprised", 6, 0.87)});
  GstBuffer* out = run(in);
  Bounds label;
  for (auto [x, y] : changed(in, out))
    if (!box.contains(x, y)) label.add(x, y);
  ASSERT_GT(label.count, 0) << "label not drawn (placed outside the frame?)";
  EXPECT_GE(label.y0, box.y + box.h) << "label should flip below the box at the top edge";
  EXPECT_GE(label.y1 - label.y0 + 1, 12) << "label cut off";
  EXPECT_EQ(label.x1, 319) << "label should end at the right edge";
  EXPECT_LT(label.x0, box.x) << "label wider than the box should be shifted left";
  EXPECT_GE(label.x1 - label.x0 + 1, 120) << "'#12 surprised 87%' cut off";
  gst_buffer_unref(out);
  gst_buffer_unref(in);
}

TEST_F(OverlayTest, LabelGoesInsideTheBoxWhenThereIsNoRoomAboveOrBelow) {
  start("RGB", 320, 240);
  set("font-scale", 0.5);
  const Rect box{20, 0, 200, 240};
  GstBuffer* in = make_input({known(box, 1, "sad", 2, 0.5)});
  GstBuffer* out = run(in);
  int inside_label = 0;
  for (auto [x, y] : changed(in, out)) {
    ASSERT_TRUE(box.contains(x, y)) << "(" << x << "," << y << ") changed outside the box";
    inside_label += x > box.x + 4 && y > 4 && y < 40;
  }
  EXPECT_GT(inside_label, 100);
  gst_buffer_unref(out);
  gst_buffer_unref(in);
}

// Width of the changed band above a box whose top edge is at y = 80: the label's width.
int label_width(const std::vector<std::pair<int, int>>& changed) {
  Bounds b;
  for (auto [x, y] : changed)
    if (y < 80) b.add(x, y);
  return b.count ? b.x1 - b.x0 + 1 : 0;
}

TEST_F(OverlayTest, LabelTextFollowsTheProperties) {
  start("RGB", 320, 240);
  set("font-scale", 0.5);
  const Rect box{100, 80, 80, 60};
  const auto width_with = [&](const Face& face) {
    GstBuffer* in = make_input({face});
    GstBuffer* out = run(in);
    const int w = label_width(changed(in, out));
    gst_buffer_unref(out);
    gst_buffer_unref(in);
    return w;
  };
  const int full = width_with(known(box, 3, "happy", 1, 0.87));  // "#3 happy 87%"
  const int id_only = width_with(pending(box, 3));               // "#3"
  const int unknown = width_with(unknown_face(box, 3));          // "#3 unknown"
  set_bool("draw-scores", false);
  const int no_score = width_with(known(box, 3, "happy", 1, 0.87));  // "#3 happy"
  set_bool("draw-labels", false);
  const int no_label = width_with(known(box, 3, "happy", 1, 0.87));
  EXPECT_GT(id_only, 0);
  EXPECT_LT(id_only, no_score);
  EXPECT_LT(no_score, full);
  EXPECT_GT(unknown, id_only);
  EXPECT_EQ(no_label, 0) << "draw-labels=false must draw boxes only";
}

TEST_F(OverlayTest, ShowUnknownFalseLeavesUnknownFacesUndrawn) {
  start("RGB", 320, 240);
  set_bool("show-unknown", false);
  GstBuffer* in = make_input(
      {unknown_face({100, 80, 80, 60}, 1), known({10, 150, 40, 40}, 2, "happy", 1, 0.9)});
  GstBuffer* out = run(in);
  for (auto [x, y] : changed(in, out))
    ASSERT_TRUE(x < 100 && y >= 100) << "unknown face drawn at (" << x << "," << y << ")";
  EXPECT_FALSE(changed(in, out).empty()) << "the known face must still be drawn";
  gst_buffer_unref(out);
  gst_buffer_unref(in);
}

TEST_F(OverlayTest, LeavesFramesWithoutFacesUntouched) {
  start("I420", 320, 240);
  GstBuffer* in = make_input({}, /*person_roi=*/true);
  GstBuffer* out = run(in);
  EXPECT_TRUE(changed(in, out).empty()) << "only face ROIs are drawn";
  gst_buffer_unref(out);
  gst_buffer_unref(in);
}

TEST_F(OverlayTest, AutoLineWidthFollowsTheFrameSize) {
  for (auto [w, h, expected] :
       {std::tuple{320, 240, 1}, std::tuple{1280, 720, 2}, std::tuple{1920, 1080, 4}}) {
    start("RGB", w, h);
    set_bool("draw-labels", false);
    const Rect box{w / 4, h / 4, w / 4, h / 4};
    GstBuffer* in = make_input({pending(box, 1)});
    GstBuffer* out = run(in);
    int thickness = 0;
    {
      Frame a(in, info_), b(out, info_);
      const int x = box.x + box.w / 2;
      for (int y = box.y; y < box.y + box.h / 2; ++y) thickness += a.pixel(x, y) != b.pixel(x, y);
    }
    EXPECT_EQ(thickness, expected) << w << "x" << h;
    gst_buffer_unref(out);
    gst_buffer_unref(in);
    gst_harness_teardown(harness_);
    harness_ = nullptr;
  }
}

}  // namespace

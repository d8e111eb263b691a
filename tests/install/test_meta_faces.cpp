// SPDX-License-Identifier: LGPL-2.1-or-later
// The C face reader of the meta library (what Python sees through introspection) against the
// plugin's C++ writers: every field hespfacecrop and hespinfer write comes back, ROIs of other
// types are skipped, a result without its required fields is no result, and clips are counted and
// indexed in attachment order.
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/expression_params.h"
#include "common/face_roi.h"
#include "gsthespfaces.h"

namespace {

struct BufferDeleter {
  void operator()(GstBuffer* b) const { gst_buffer_unref(b); }
};
using BufferPtr = std::unique_ptr<GstBuffer, BufferDeleter>;

hesp::gst::ExpressionParams happy() {
  hesp::gst::ExpressionParams p;
  p.label = "happy";
  p.label_id = 3;
  p.confidence = 0.75;
  p.is_unknown = false;
  p.open_set_score = 0.9;
  p.clip_start = 40 * GST_MSECOND;
  p.clip_end = 640 * GST_MSECOND;
  p.class_labels = {"angry", "sad", "neutral", "happy"};
  p.class_scores = {0.05, 0.1, 0.1, 0.75};
  return p;
}

TEST(MetaFaces, ReadsBoxTrackAndExpression) {
  BufferPtr buffer(gst_buffer_new());
  hesp::gst::add_face_roi(buffer.get(), hesp::Box{10, 20, 30, 40}, 0.8, 7, 320, 240);
  GstVideoRegionOfInterestMeta* second =
      hesp::gst::add_face_roi(buffer.get(), hesp::Box{100, 50, 60, 60}, 0.6, 9, 320, 240);
  hesp::gst::set_expression(second, happy());
  // Not a face: skipped.
  gst_buffer_add_video_region_of_interest_meta(buffer.get(), "car", 0, 0, 5, 5);

  GPtrArray* faces = gst_hesp_buffer_get_faces(buffer.get());
  ASSERT_EQ(faces->len, 2u);
  auto* a = static_cast<GstHespFace*>(g_ptr_array_index(faces, 0));
  EXPECT_EQ(a->track_id, 7);
  EXPECT_EQ(a->roi_id, 7);
  EXPECT_EQ(a->x, 10u);
  EXPECT_EQ(a->y, 20u);
  EXPECT_EQ(a->width, 30u);
  EXPECT_EQ(a->height, 40u);
  EXPECT_DOUBLE_EQ(a->detection_confidence, 0.8);
  EXPECT_FALSE(a->has_expression);
  EXPECT_EQ(a->label, nullptr);
  EXPECT_EQ(a->label_id, -1);
  EXPECT_EQ(a->clip_start, GST_CLOCK_TIME_NONE);

  auto* b = static_cast<GstHespFace*>(g_ptr_array_index(faces, 1));
  EXPECT_EQ(b->track_id, 9);
  ASSERT_TRUE(b->has_expression);
  EXPECT_STREQ(b->label, "happy");
  EXPECT_EQ(b->label_id, 3);
  EXPECT_DOUBLE_EQ(b->confidence, 0.75);
  EXPECT_FALSE(b->is_unknown);
  EXPECT_DOUBLE_EQ(b->open_set_score, 0.9);
  EXPECT_EQ(b->clip_start, 40 * GST_MSECOND);
  EXPECT_EQ(b->clip_end, 640 * GST_MSECOND);

  // The boxed copy is deep: it outlives the array.
  GstHespFace* copy = gst_hesp_face_copy(b);
  g_ptr_array_unref(faces);
  EXPECT_STREQ(copy->label, "happy");
  // Bindings copy and free it through the boxed type.
  ASSERT_TRUE(G_TYPE_IS_BOXED(GST_HESP_TYPE_FACE));
  auto* boxed = static_cast<GstHespFace*>(g_boxed_copy(GST_HESP_TYPE_FACE, copy));
  gst_hesp_face_free(copy);
  EXPECT_STREQ(boxed->label, "happy");
  g_boxed_free(GST_HESP_TYPE_FACE, boxed);
}

TEST(MetaFaces, UnknownAndMalformedResults) {
  BufferPtr buffer(gst_buffer_new());
  GstVideoRegionOfInterestMeta* unknown =
      hesp::gst::add_face_roi(buffer.get(), hesp::Box{0, 0, 10, 10}, 0.5, 1, 100, 100);
  hesp::gst::ExpressionParams p = happy();
  p.label = "unknown";
  p.label_id = -1;
  p.is_unknown = true;
  hesp::gst::set_expression(unknown, p);
  GstVideoRegionOfInterestMeta* broken =
      hesp::gst::add_face_roi(buffer.get(), hesp::Box{20, 20, 10, 10}, 0.5, 2, 100, 100);
  // An expression structure without confidence and is_unknown is not a result.
  gst_video_region_of_interest_meta_add_param(
      broken, gst_structure_new("expression", "label", G_TYPE_STRING, "sad", "label_id", G_TYPE_INT,
                                1, nullptr));

  GPtrArray* faces = gst_hesp_buffer_get_faces(buffer.get());
  ASSERT_EQ(faces->len, 2u);
  auto* u = static_cast<GstHespFace*>(g_ptr_array_index(faces, 0));
  EXPECT_TRUE(u->has_expression);
  EXPECT_TRUE(u->is_unknown);
  EXPECT_STREQ(u->label, "unknown");
  EXPECT_EQ(u->label_id, -1);
  auto* m = static_cast<GstHespFace*>(g_ptr_array_index(faces, 1));
  EXPECT_FALSE(m->has_expression);
  EXPECT_EQ(m->label, nullptr);
  EXPECT_EQ(m->label_id, -1);
  EXPECT_DOUBLE_EQ(m->confidence, 0.0);
  g_ptr_array_unref(faces);
}

TEST(MetaFaces, ClipsByIndex) {
  BufferPtr buffer(gst_buffer_new());
  EXPECT_EQ(gst_hesp_buffer_get_n_clips(buffer.get()), 0u);
  EXPECT_EQ(gst_hesp_buffer_get_nth_clip(buffer.get(), 0), nullptr);
  const guint n = 2, size = 4;
  for (guint track : {5u, 6u}) {
    std::vector<guint8> pixels(n * size * size * 3, static_cast<guint8>(track));
    GBytes* frames = g_bytes_new(pixels.data(), pixels.size());
    const GstClockTime start = track * static_cast<GstClockTime>(GST_SECOND);
    const GstClockTime pts[] = {start, start + 40 * static_cast<GstClockTime>(GST_MSECOND)};
    ASSERT_NE(gst_buffer_add_hesp_clip_meta(buffer.get(), track, -1, n, n, size, frames, pts, 0),
              nullptr);
    g_bytes_unref(frames);
  }
  ASSERT_EQ(gst_hesp_buffer_get_n_clips(buffer.get()), 2u);
  for (guint i = 0; i < 2; ++i) {
    GstHespClipMeta* clip = gst_hesp_buffer_get_nth_clip(buffer.get(), i);
    ASSERT_NE(clip, nullptr);
    EXPECT_EQ(clip->track_id, 5 + i);
    gsize bytes = 0;
    const auto* data =
        static_cast<const guint8*>(g_bytes_get_data(gst_hesp_clip_meta_get_frames(clip), &bytes));
    EXPECT_EQ(bytes, n * size * size * 3);
    EXPECT_EQ(data[0], 5 + i);
    guint n_pts = 0;
    const GstClockTime* pts = gst_hesp_clip_meta_get_pts(clip, &n_pts);
    ASSERT_EQ(n_pts, n);
    EXPECT_EQ(pts[1], (5 + i) * GST_SECOND + 40 * GST_MSECOND);
  }
  EXPECT_EQ(gst_hesp_buffer_get_nth_clip(buffer.get(), 2), nullptr);
}

}  // namespace

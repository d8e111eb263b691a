// SPDX-License-Identifier: LGPL-2.1-or-later
// hespinfer's per-track result state: smoothing across clips, and the early one-frame result a
// new face gets, which the track's first full clip replaces instead of being blended with it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "infer/result_stamper.h"

namespace {

const std::vector<std::string> kClasses{"neutral", "happy"};

hesp::ExpressionResult result(double happy) {
  hesp::ExpressionResult r;
  r.class_scores = {1.0 - happy, happy};
  r.label_id = happy > 0.5 ? 1 : 0;
  r.label = kClasses[r.label_id];
  r.confidence = std::max(happy, 1.0 - happy);
  r.open_set_score = 1.0;
  return r;
}

TEST(ResultStamper, FirstFullClipReplacesTheEarlyResult) {
  hesp::gst::ResultStamper stamper(0.5, 100, 8);
  // The face's first frame is neutral (the onset); its first full clip of 8 frames is a smile.
  auto first = stamper.update(1, result(0.01), 0.0, kClasses, "m", 0, 0, 1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->now.label, "neutral");
  auto full = stamper.update(1, result(0.9), 0.0, kClasses, "m", 0, 7, 8);
  ASSERT_TRUE(full) << "the label changes";
  EXPECT_EQ(full->previous, "neutral");
  EXPECT_EQ(full->now.label, "happy");
  EXPECT_DOUBLE_EQ(full->now.class_scores[1], 0.9) << "not blended with the one-frame guess";
  // Later full clips are smoothed as before: 0.5 * 0.9 + 0.5 * 0.3.
  EXPECT_FALSE(stamper.update(1, result(0.3), 0.0, kClasses, "m", 4, 11, 8));
  EXPECT_DOUBLE_EQ(stamper.current(1)->class_scores[1], 0.6);
  // A track's final partial clip has fewer real frames: blended too.
  stamper.update(1, result(0.0), 0.0, kClasses, "m", 8, 12, 5);
  EXPECT_DOUBLE_EQ(stamper.current(1)->class_scores[1], 0.3);
}

TEST(ResultStamper, UnknownFrameCountsKeepPlainSmoothing) {
  hesp::gst::ResultStamper stamper(0.5, 100, 8);
  stamper.update(2, result(0.0), 0.0, kClasses, "m", 0, 7);
  stamper.update(2, result(1.0), 0.0, kClasses, "m", 8, 15);
  EXPECT_DOUBLE_EQ(stamper.current(2)->class_scores[1], 0.5);
}

}  // namespace

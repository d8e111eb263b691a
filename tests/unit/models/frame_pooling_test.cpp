// SPDX-License-Identifier: LGPL-2.1-or-later
// The frame pooling rules on hand-made logits: what each rule keeps of a clip that rises from
// neutral to an expression, and of a clip that stays neutral.
#include "models/frame_pooling.h"

#include <gtest/gtest.h>

#include <vector>

#include "hesp/error.h"

namespace {

using hesp::models::FramePooling;
using hesp::models::pool_frame_logits;

// Classes: neutral, happy. Three neutral frames, one clearly happy frame.
const std::vector<float> kRise = {4.f, 0.f, 4.f, 0.f, 4.f, 0.f, 0.f, 5.f};
// Four neutral frames, one a little less sure than the others.
const std::vector<float> kCalm = {4.f, 0.f, 3.f, 1.f, 4.f, 0.f, 4.f, 0.f};

int argmax(const std::vector<double>& v) { return v[1] > v[0] ? 1 : 0; }

TEST(FramePooling, MeanLetsTheNeutralOnsetWin) {
  const auto p = pool_frame_logits(FramePooling::kMean, kRise.data(), 4, 2, 0);
  EXPECT_DOUBLE_EQ(p[0], 3.0);
  EXPECT_DOUBLE_EQ(p[1], 1.25);
  EXPECT_EQ(argmax(p), 0);
}

TEST(FramePooling, ExpressiveTopHalfAndPeakFindTheApex) {
  for (FramePooling rule : {FramePooling::kExpressive, FramePooling::kTopHalf, FramePooling::kPeak})
    EXPECT_EQ(argmax(pool_frame_logits(rule, kRise.data(), 4, 2, 0)), 1)
        << hesp::models::frame_pooling_name(rule);
  // Peak is the apex frame itself.
  const auto peak = pool_frame_logits(FramePooling::kPeak, kRise.data(), 4, 2, 0);
  EXPECT_DOUBLE_EQ(peak[0], 0.0);
  EXPECT_DOUBLE_EQ(peak[1], 5.0);
}

TEST(FramePooling, ANeutralClipStaysNeutralUnderEveryRule) {
  for (FramePooling rule : {FramePooling::kMean, FramePooling::kExpressive, FramePooling::kTopHalf,
                            FramePooling::kPeak, FramePooling::kSustained})
    EXPECT_EQ(argmax(pool_frame_logits(rule, kCalm.data(), 4, 2, 0)), 0)
        << hesp::models::frame_pooling_name(rule);
}

TEST(FramePooling, EqualFramesPoolToThemselves) {
  const std::vector<float> same = {1.f, 2.f, 1.f, 2.f, 1.f, 2.f};
  for (FramePooling rule : {FramePooling::kMean, FramePooling::kExpressive, FramePooling::kTopHalf,
                            FramePooling::kPeak, FramePooling::kSustained}) {
    const auto p = pool_frame_logits(rule, same.data(), 3, 2, 0);
    EXPECT_NEAR(p[0], 1.0, 1e-12);
    EXPECT_NEAR(p[1], 2.0, 1e-12);
  }
}

// Classes: neutral, happy, sad.
TEST(FramePooling, SustainedNeedsTwoFramesOfAnExpression) {
  // The onset is surer of neutral (logit 9) than the apex is of happy (logit 5), so peak keeps
  // the neutral onset; sustained takes the two happy frames (their mean).
  const std::vector<float> rise = {9, 0, 0, 9, 0, 0, 0, 4, 0, 0, 6, 0};
  const auto peak = pool_frame_logits(FramePooling::kPeak, rise.data(), 4, 3, 0);
  EXPECT_DOUBLE_EQ(peak[0], 9.0);
  const auto sustained = pool_frame_logits(FramePooling::kSustained, rise.data(), 4, 3, 0);
  EXPECT_DOUBLE_EQ(sustained[0], 0.0);
  EXPECT_DOUBLE_EQ(sustained[1], 5.0);
  // One sad frame among neutral ones is not enough: the clip is pooled as peak would.
  const std::vector<float> blink = {5, 0, 0, 5, 0, 0, 0, 0, 9, 4, 0, 0};
  const auto once = pool_frame_logits(FramePooling::kSustained, blink.data(), 4, 3, 0);
  EXPECT_EQ(once, pool_frame_logits(FramePooling::kPeak, blink.data(), 4, 3, 0));
  // Two expressions: the one on more frames wins, then the surer one.
  const std::vector<float> mixed = {0, 3, 0, 0, 3, 0, 0, 0, 8, 0, 0, 8, 0, 0, 8};
  EXPECT_DOUBLE_EQ(pool_frame_logits(FramePooling::kSustained, mixed.data(), 5, 3, 0)[2], 8.0);
  const std::vector<float> tie = {0, 3, 0, 0, 3, 0, 0, 0, 8, 0, 0, 8};
  const auto t = pool_frame_logits(FramePooling::kSustained, tie.data(), 4, 3, 0);
  EXPECT_DOUBLE_EQ(t[1], 0.0);
  EXPECT_DOUBLE_EQ(t[2], 8.0);
  // Without a neutral class every class is an expression: the rule is peak.
  EXPECT_EQ(pool_frame_logits(FramePooling::kSustained, rise.data(), 4, 3, -1),
            pool_frame_logits(FramePooling::kPeak, rise.data(), 4, 3, -1));
}

TEST(FramePooling, WithoutANeutralClassConfidenceWeighs) {
  // Frame 0 unsure (equal logits), frame 1 sure of class 1: expressive leans to frame 1.
  const std::vector<float> rows = {1.f, 1.f, 0.f, 6.f};
  const auto p = pool_frame_logits(FramePooling::kExpressive, rows.data(), 2, 2, -1);
  EXPECT_GT(p[1], 0.5 * (1.0 + 6.0));
}

TEST(FramePooling, NamesRoundTripAndBadNamesAreRefused) {
  for (const auto& name : hesp::models::frame_pooling_names())
    EXPECT_EQ(hesp::models::frame_pooling_name(hesp::models::parse_frame_pooling(name)), name);
  EXPECT_THROW(hesp::models::parse_frame_pooling("median"), hesp::SettingsError);
  EXPECT_THROW(pool_frame_logits(FramePooling::kMean, kRise.data(), 0, 2, 0), hesp::InputError);
}

}  // namespace

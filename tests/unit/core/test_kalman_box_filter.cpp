// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <cmath>

#include "hesp/kalman_box_filter.h"

namespace {

TEST(KalmanBoxFilter, LearnsAConstantVelocityAndPredictsWithIt) {
  // A 60 px face moving 4 px right and 2 px down per frame, measured on every third frame.
  auto truth = [](int frame) { return hesp::Box{100.f + 4.f * frame, 50.f + 2.f * frame, 60, 60}; };
  hesp::KalmanBoxFilter filter(truth(0));
  for (int frame = 1; frame <= 30; ++frame) {
    const hesp::Box predicted = filter.predict();
    if (frame % 3 == 0) filter.update(truth(frame));
    if (frame >= 15) {
      // Converged: the prediction, also on frames without a measurement, stays on the face.
      EXPECT_NEAR(predicted.x, truth(frame).x, 2.f) << "frame " << frame;
      EXPECT_NEAR(predicted.y, truth(frame).y, 1.f) << "frame " << frame;
    }
  }
  EXPECT_NEAR(filter.velocity_x(), 4.f, 0.3f);
  EXPECT_NEAR(filter.velocity_y(), 2.f, 0.2f);
  EXPECT_NEAR(filter.box().width, 60.f, 0.5f);
}

TEST(KalmanBoxFilter, AFaceAtRestStaysPut) {
  hesp::KalmanBoxFilter filter(hesp::Box{10, 20, 40, 50});
  for (int i = 0; i < 20; ++i) {
    filter.predict();
    filter.update(hesp::Box{10, 20, 40, 50});
  }
  const hesp::Box b = filter.predict();
  EXPECT_NEAR(b.x, 10.f, 0.01f);
  EXPECT_NEAR(b.y, 20.f, 0.01f);
  EXPECT_NEAR(b.width, 40.f, 0.01f);
  EXPECT_NEAR(b.height, 50.f, 0.01f);
}

TEST(KalmanBoxFilter, ShrinkingBoxNeverCollapses) {
  hesp::KalmanBoxFilter filter(hesp::Box{0, 0, 40, 40});
  for (int i = 1; i <= 5; ++i) {
    filter.predict();
    filter.update(hesp::Box{0, 0, 40.f - 7.f * i, 40.f - 7.f * i});
  }
  for (int i = 0; i < 50; ++i) {
    const hesp::Box b = filter.predict();
    ASSERT_GE(b.width, 1.f);
    ASSERT_GE(b.height, 1.f);
    ASSERT_TRUE(std::isfinite(b.x));
  }
}

TEST(KalmanBoxFilter, MeasurementPullsTheEstimateMostOfTheWay) {
  // A fresh filter trusts its first measurements more than its start (wide initial covariance).
  hesp::KalmanBoxFilter filter(hesp::Box{0, 0, 50, 50});
  filter.predict();
  const hesp::Box b = filter.update(hesp::Box{10, 0, 50, 50});
  EXPECT_GT(b.x, 5.f);
  EXPECT_LT(b.x, 10.f);
}

}  // namespace

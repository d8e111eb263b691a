// SPDX-License-Identifier: LGPL-2.1-or-later
// The pan-zoom camera's window: a bright square drawn on a photo is found in the rendered frames
// where to_frame() says it is, all along the move (the tracking bench's ground truth rests on it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "hesp/pan_zoom.h"

namespace hesp {
namespace {

TEST(PanZoom, BoxesOnThePhotoMapIntoEveryFrame) {
  const std::string photo = testing::TempDir() + "pan_zoom_" + std::to_string(getpid()) + ".png";
  cv::Mat image(600, 900, CV_8UC3, cv::Scalar(40, 40, 40));
  const Box square{400, 250, 80, 80};
  cv::rectangle(image, cv::Rect(400, 250, 80, 80), cv::Scalar(255, 255, 255), cv::FILLED);
  ASSERT_TRUE(cv::imwrite(photo, image));
  // A push-in with a pan; the square stays in view.
  const PanZoomSequence seq(photo, 320, 180, 9, PanZoomPath{0.45f, 0.45f, 0.9f, 0.5f, 0.5f, 0.5f});
  std::vector<std::uint8_t> rgb(320 * 180 * 3);
  for (int index : {0, 3, 8}) {
    seq.render(index, rgb.data());
    const cv::Mat frame(180, 320, CV_8UC3, rgb.data());
    cv::Mat gray, mask;
    cv::cvtColor(frame, gray, cv::COLOR_RGB2GRAY);
    cv::threshold(gray, mask, 150, 255, cv::THRESH_BINARY);
    const cv::Rect found = cv::boundingRect(mask);
    const Box expected = seq.to_frame(index, square);
    SCOPED_TRACE("frame " + std::to_string(index));
    EXPECT_NEAR(found.x, expected.x, 1.5);
    EXPECT_NEAR(found.y, expected.y, 1.5);
    EXPECT_NEAR(found.width, expected.width, 2.0);
    EXPECT_NEAR(found.height, expected.height, 2.0);
    const Box w = seq.window(index);
    EXPECT_NEAR(w.width / w.height, 320.0 / 180.0, 1e-3);
  }
  EXPECT_GT(seq.to_frame(8, square).width, seq.to_frame(0, square).width * 1.5);  // zoomed in
  unlink(photo.c_str());
}

}  // namespace
}  // namespace hesp

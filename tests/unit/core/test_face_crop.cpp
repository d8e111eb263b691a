// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "hesp/error.h"
#include "hesp/face_clips.h"
#include "image_views.h"

namespace {

// A smooth colour image (no hard edges, so chroma subsampling changes little).
cv::Mat test_rgb(int w, int h) {
  cv::Mat rgb(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      rgb.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uchar>(40 + 150 * x / w), static_cast<uchar>(60 + 120 * y / h),
                    static_cast<uchar>(90 + 60 * (x + y) / (w + h)));
  return rgb;
}

using hesp::test::packed_view;

double mean_abs_diff(const hesp::FaceCrop& a, const hesp::FaceCrop& b) {
  double sum = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(a.rgb[i] - b.rgb[i]);
  return sum / a.rgb.size();
}

TEST(FaceCrop, AllPackedFormatsGiveTheSameRgbCrop) {
  const cv::Mat rgb = test_rgb(160, 120);
  const hesp::Box square{30, 20, 64, 64};
  const auto reference = hesp::crop_face(packed_view(rgb, hesp::PixelFormat::kRGB), square, 32);
  cv::Mat bgr, rgba, bgra;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  cv::cvtColor(rgb, rgba, cv::COLOR_RGB2RGBA);
  cv::cvtColor(rgb, bgra, cv::COLOR_RGB2BGRA);
  EXPECT_EQ(hesp::crop_face(packed_view(bgr, hesp::PixelFormat::kBGR), square, 32).rgb,
            reference.rgb);
  EXPECT_EQ(hesp::crop_face(packed_view(rgba, hesp::PixelFormat::kRGBA), square, 32).rgb,
            reference.rgb);
  EXPECT_EQ(hesp::crop_face(packed_view(rgba, hesp::PixelFormat::kRGBx), square, 32).rgb,
            reference.rgb);
  EXPECT_EQ(hesp::crop_face(packed_view(bgra, hesp::PixelFormat::kBGRx), square, 32).rgb,
            reference.rgb);
}

TEST(FaceCrop, YuvFormatsMatchRgbWithinConversionError) {
  const cv::Mat rgb = test_rgb(160, 120);
  const hesp::Box square{31, 21, 63, 63};  // odd position: the crop must re-align chroma
  const auto reference = hesp::crop_face(packed_view(rgb, hesp::PixelFormat::kRGB), square, 32);
  cv::Mat i420;
  cv::cvtColor(rgb, i420, cv::COLOR_RGB2YUV_I420);  // Y (h rows), U (h/4), V (h/4) rows
  hesp::ImageView v;
  v.format = hesp::PixelFormat::kI420;
  v.width = 160;
  v.height = 120;
  v.planes[0] = i420.data;
  v.strides[0] = 160;
  v.planes[1] = i420.data + 160 * 120;
  v.strides[1] = 80;
  v.planes[2] = i420.data + 160 * 120 + 80 * 60;
  v.strides[2] = 80;
  const auto from_i420 = hesp::crop_face(v, square, 32);
  EXPECT_LT(mean_abs_diff(from_i420, reference), 4.0);

  // NV12: same Y plane, interleaved UV.
  std::vector<std::uint8_t> uv(80 * 60 * 2);
  for (int i = 0; i < 80 * 60; ++i) {
    uv[2 * i] = v.planes[1][i];
    uv[2 * i + 1] = v.planes[2][i];
  }
  hesp::ImageView n = v;
  n.format = hesp::PixelFormat::kNV12;
  n.planes[1] = uv.data();
  n.strides[1] = 160;
  n.planes[2] = nullptr;
  EXPECT_EQ(hesp::crop_face(n, square, 32).rgb, from_i420.rgb);
}

TEST(FaceCrop, OutsideTheFrameIsBlackAndFaceStaysCentred) {
  const cv::Mat rgb(100, 100, CV_8UC3, cv::Scalar(200, 200, 200));
  // Square hanging off the left and top edge by half its size.
  const auto crop =
      hesp::crop_face(packed_view(rgb, hesp::PixelFormat::kRGB), hesp::Box{-50, -50, 100, 100}, 20);
  auto px = [&](int x, int y) { return crop.rgb[(y * 20 + x) * 3]; };
  EXPECT_EQ(px(2, 2), 0);
  EXPECT_EQ(px(17, 2), 0);
  EXPECT_EQ(px(2, 17), 0);
  EXPECT_EQ(px(17, 17), 200);
}

TEST(FaceCrop, SquareCompletelyOutsideGivesBlackCrop) {
  const cv::Mat rgb(10, 10, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto crop =
      hesp::crop_face(packed_view(rgb, hesp::PixelFormat::kRGB), hesp::Box{50, 50, 10, 10}, 8);
  for (auto b : crop.rgb) ASSERT_EQ(b, 0);
}

TEST(FaceCrop, TinyAndOddFrames) {
  for (auto [w, h] : {std::pair{1, 1}, {3, 3}, {5, 4}, {7, 9}}) {
    std::vector<std::uint8_t> y(w * h, 128), u(((w + 1) / 2) * ((h + 1) / 2), 128),
        vv(((w + 1) / 2) * ((h + 1) / 2), 128);
    hesp::ImageView v;
    v.format = hesp::PixelFormat::kI420;
    v.width = w;
    v.height = h;
    v.planes[0] = y.data();
    v.strides[0] = w;
    v.planes[1] = u.data();
    v.strides[1] = (w + 1) / 2;
    v.planes[2] = vv.data();
    v.strides[2] = (w + 1) / 2;
    EXPECT_NO_THROW(hesp::crop_face(v, hesp::Box{0, 0, float(w), float(h)}, 16)) << w << "x" << h;
    hesp::ImageView g = v;
    g.format = hesp::PixelFormat::kGRAY8;
    const auto crop = hesp::crop_face(g, hesp::Box{0, 0, float(w), float(h)}, 16);
    EXPECT_EQ(crop.rgb[(8 * 16 + 8) * 3], 128);
  }
}

TEST(FaceCrop, RejectsBadInput) {
  const cv::Mat rgb(10, 10, CV_8UC3, cv::Scalar(0));
  auto v = packed_view(rgb, hesp::PixelFormat::kRGB);
  EXPECT_THROW(hesp::crop_face(v, hesp::Box{0, 0, 0, 0}, 8), hesp::InputError);
  EXPECT_THROW(hesp::crop_face(v, hesp::Box{0, 0, 5, 5}, 0), hesp::InputError);
  v.planes[0] = nullptr;
  EXPECT_THROW(hesp::crop_face(v, hesp::Box{0, 0, 5, 5}, 8), hesp::InputError);
}

}  // namespace

// SPDX-License-Identifier: LGPL-2.1-or-later
// CLIP preprocessing: the resampler against Pillow (fixture from make_resize_fixture.py), the
// resize/crop arithmetic of torchvision, normalisation and image reading.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hesp/clip_preprocess.h"
#include "hesp/error.h"
#include "test_data.h"

namespace {

std::vector<std::uint8_t> read_fixture(const std::string& name) {
  std::ifstream in(hesp::test::source_path("tests/unit/clip/data/" + name), std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

TEST(ResizeBicubic, MatchesPillowExactly) {
  const std::vector<std::uint8_t> input = read_fixture("input.rgb");
  ASSERT_EQ(input.size(), 37u * 23 * 3) << "fixture missing; see make_resize_fixture.py";
  for (const auto& [w, h] :
       std::vector<std::pair<int, int>>{{64, 64}, {11, 7}, {50, 13}, {37, 9}}) {
    const std::vector<std::uint8_t> expected =
        read_fixture(std::to_string(w) + "x" + std::to_string(h) + ".rgb");
    ASSERT_EQ(expected.size(), static_cast<std::size_t>(w) * h * 3);
    std::vector<std::uint8_t> got(expected.size());
    hesp::resize_bicubic(input.data(), 37, 23, 37 * 3, got.data(), w, h);
    int mismatches = 0;
    for (std::size_t i = 0; i < got.size(); ++i) mismatches += got[i] != expected[i];
    EXPECT_EQ(mismatches, 0) << "at " << w << "x" << h;
  }
}

TEST(ResizeBicubic, HonoursRowStride) {
  const std::vector<std::uint8_t> input = read_fixture("input.rgb");
  ASSERT_EQ(input.size(), 37u * 23 * 3);
  const int stride = 37 * 3 + 5;
  std::vector<std::uint8_t> padded(static_cast<std::size_t>(stride) * 23, 0xAB);
  for (int y = 0; y < 23; ++y)
    std::copy_n(&input[static_cast<std::size_t>(y) * 37 * 3], 37 * 3, &padded[y * stride]);
  std::vector<std::uint8_t> a(11 * 7 * 3), b(11 * 7 * 3);
  hesp::resize_bicubic(input.data(), 37, 23, 37 * 3, a.data(), 11, 7);
  hesp::resize_bicubic(padded.data(), 37, 23, stride, b.data(), 11, 7);
  EXPECT_EQ(a, b);
}

TEST(CenterCrop, FollowsTorchvisionArithmetic) {
  // Landscape: height becomes the size, width truncated; crop centred.
  hesp::CenterCrop c = hesp::clip_center_crop(640, 480, 224);
  EXPECT_EQ(c.resized_width, 298);
  EXPECT_EQ(c.resized_height, 224);
  EXPECT_EQ(c.left, 37);
  EXPECT_EQ(c.top, 0);
  // Portrait.
  c = hesp::clip_center_crop(480, 640, 224);
  EXPECT_EQ(c.resized_width, 224);
  EXPECT_EQ(c.resized_height, 298);
  EXPECT_EQ(c.top, 37);
  // Python's round() sends halves to the even neighbour: 10.5 -> 10, 11.5 -> 12.
  EXPECT_EQ(hesp::clip_center_crop(170, 128, 64).left, 10);
  EXPECT_EQ(hesp::clip_center_crop(174, 128, 64).left, 12);
}

TEST(ClipPreprocess, NormalisesWithClipStatistics) {
  // A 2x2 image needs no resize at size 2: only the normalisation is applied, channel-planar.
  const std::uint8_t rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128};
  float out[12];
  hesp::clip_preprocess(rgb, 2, 2, 6, 2, out);
  const auto norm = [](int v, int c) {
    return (v / 255.0f - hesp::kClipMean[c]) / hesp::kClipStd[c];
  };
  EXPECT_FLOAT_EQ(out[0], norm(255, 0));      // R plane, pixel 0
  EXPECT_FLOAT_EQ(out[1], norm(0, 0));        // R plane, pixel 1
  EXPECT_FLOAT_EQ(out[4 + 1], norm(255, 1));  // G plane, pixel 1
  EXPECT_FLOAT_EQ(out[8 + 2], norm(255, 2));  // B plane, pixel 2
  EXPECT_FLOAT_EQ(out[8 + 3], norm(128, 2));
}

TEST(ClipPreprocess, CropsTheCentreAfterResizing) {
  // 4x2 image, left half black, right half white except the centre columns: at size 2 the short
  // side stays 2, so no resampling happens and the crop keeps columns 1 and 2.
  std::vector<std::uint8_t> rgb(4 * 2 * 3, 0);
  for (int y = 0; y < 2; ++y)
    for (int c = 0; c < 3; ++c) rgb[(y * 4 + 2) * 3 + c] = 255;  // column 2 white
  float out[12];
  hesp::clip_preprocess(rgb.data(), 4, 2, 12, 2, out);
  EXPECT_FLOAT_EQ(out[0], (0.0f - hesp::kClipMean[0]) / hesp::kClipStd[0]);  // column 1
  EXPECT_FLOAT_EQ(out[1], (1.0f - hesp::kClipMean[0]) / hesp::kClipStd[0]);  // column 2
}

TEST(ClipPreprocess, RejectsUnusableImages) {
  const std::uint8_t px[3] = {0, 0, 0};
  float out[3];
  EXPECT_THROW(hesp::clip_preprocess(nullptr, 1, 1, 3, 1, out), hesp::InputError);
  EXPECT_THROW(hesp::clip_preprocess(px, 1, 1, 2, 1, out), hesp::InputError);
  EXPECT_THROW(hesp::clip_preprocess(px, 0, 1, 3, 1, out), hesp::InputError);
}

class ReadImage : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hesp-preprocess-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(ReadImage, ReturnsPixelsInRgbOrder) {
  // A binary PPM stores RGB; what comes back must be the same bytes (no BGR swap left over).
  const std::uint8_t pixels[] = {10, 20, 30, 200, 100, 50};
  const std::string path = file("two.ppm");
  {
    std::ofstream out(path, std::ios::binary);
    out << "P6\n2 1\n255\n";
    out.write(reinterpret_cast<const char*>(pixels), sizeof pixels);
  }
  const hesp::RgbImage image = hesp::read_rgb_image(path);
  ASSERT_EQ(image.width, 2);
  ASSERT_EQ(image.height, 1);
  EXPECT_EQ(image.pixels, std::vector<std::uint8_t>(pixels, pixels + 6));
}

TEST_F(ReadImage, ReportsMissingAndUndecodableFiles) {
  EXPECT_THROW(hesp::read_rgb_image(file("absent.jpg")), hesp::FileNotFoundError);
  const std::string path = file("garbage.jpg");
  std::ofstream(path) << "this is not an image";
  EXPECT_THROW(hesp::read_rgb_image(path), hesp::CorruptFileError);
}

}  // namespace

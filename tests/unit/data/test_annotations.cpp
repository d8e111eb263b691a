// SPDX-License-Identifier: LGPL-2.1-or-later
// Annotation files: the MAFW/DFEW line format, paths resolved against a root, and every kind of
// bad line failing with file:line (or, when asked, skipped and counted).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <string>

#include "hesp/dataset.h"
#include "hesp/error.h"
#include "scratch.h"

namespace fs = std::filesystem;
using hesp::data::AnnotationOptions;
using hesp::data::MediaKind;
using hesp::data::read_annotations;
using hesp::data::SkipReason;

namespace {

void write_image(const fs::path& p, int value) {
  cv::Mat m(16, 16, CV_8UC3, cv::Scalar(value, value, value));
  ASSERT_TRUE(cv::imwrite(p.string(), m));
}

class Annotations : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    fs::create_directories(root_ / "clips" / "a");
    for (int i = 1; i <= 5; ++i)
      write_image(root_ / "clips" / "a" / ("0000" + std::to_string(i) + ".png"), i * 10);
    fs::create_directories(root_ / "clips" / "b");
    for (int i : {1, 2, 10})
      write_image(root_ / "clips" / "b" / (std::to_string(i) + ".jpg"), i * 20);
    fs::create_directories(root_ / "clips" / "empty");
    std::ofstream(root_ / "clips" / "empty" / "notes.txt") << "no frames here";
    cv::VideoWriter video((root_ / "clips" / "v.avi").string(),
                          cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(32, 32));
    ASSERT_TRUE(video.isOpened());
    for (int i = 0; i < 10; ++i) video.write(cv::Mat(32, 32, CV_8UC3, cv::Scalar(i * 20, 0, 0)));
    video.release();
    std::ofstream(root_ / "clips" / "broken.mp4") << "this is not a video";
  }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = root_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  // Runs read_annotations expecting an exception of type E whose message has all parts.
  template <class E>
  void expect_error(const std::string& file, std::initializer_list<std::string> parts,
                    AnnotationOptions options = {}) {
    try {
      read_annotations(file, options);
      ADD_FAILURE() << "no error for " << file;
    } catch (const E& e) {
      const std::string msg = e.what();
      for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception type: " << e.what();
    }
  }
  hesp::test::TempDir tmp_;
  fs::path root_ = tmp_.path();
};

TEST_F(Annotations, ReadsFourAndThreeColumnLines) {
  const std::string file = write("list.txt",
                                 "# comment\n"
                                 "clips/a 5 3 Happy\n"
                                 "\n"
                                 "clips/b   3\t5\r\n"
                                 "clips/v.avi 10 0 Angry\n");
  AnnotationOptions o;
  o.class_names = hesp::data::mafw_class_names();
  o.check_label_text = true;
  const auto a = read_annotations(file, o);
  ASSERT_EQ(a.items.size(), 3u);
  EXPECT_EQ(a.lines, 3);
  EXPECT_TRUE(a.skipped.empty());
  EXPECT_EQ(a.items[0].rel_path, "clips/a");
  EXPECT_EQ(a.items[0].path, (root_ / "clips" / "a").string());
  EXPECT_EQ(a.items[0].num_frames, 5);
  EXPECT_EQ(a.items[0].label, 3);
  EXPECT_EQ(a.items[0].original_label, 3);
  EXPECT_EQ(a.items[0].label_text, "Happy");
  EXPECT_EQ(a.items[0].line, 2);
  EXPECT_EQ(a.items[0].kind, MediaKind::kFrameFolder);
  EXPECT_EQ(a.items[0].available_frames, 5);
  EXPECT_EQ(a.items[1].label_text, "");
  EXPECT_EQ(a.items[1].label, 5);
  EXPECT_EQ(a.items[1].line, 4);
  EXPECT_EQ(a.items[2].kind, MediaKind::kVideo);
  EXPECT_EQ(a.items[2].available_frames, 10);
  EXPECT_EQ(a.frame_count_mismatches, 0);
}

TEST_F(Annotations, PathsRelativeToRootOrAbsolute) {
  fs::create_directories(root_ / "lists");
  const std::string file =
      write("lists/l.txt", "a 5 1\n" + (root_ / "clips" / "b").string() + " 3 2\n");
  AnnotationOptions o;
  o.root = (root_ / "clips").string();
  const auto a = read_annotations(file, o);
  ASSERT_EQ(a.items.size(), 2u);
  EXPECT_EQ(a.items[0].available_frames, 5);
  EXPECT_EQ(a.items[1].available_frames, 3);
  // Without a root, paths start at the annotation file's folder: lists/a does not exist.
  expect_error<hesp::FileNotFoundError>(file, {"l.txt:1:", "'a' does not exist"});
}

TEST_F(Annotations, MissingPathNamesFileAndLine) {
  const std::string file = write("l.txt", "clips/a 5 3\nclips/nope 7 2 Fear\n");
  expect_error<hesp::FileNotFoundError>(file, {"l.txt:2:", "clips/nope", "does not exist"});
}

TEST_F(Annotations, WrongColumnCount) {
  expect_error<hesp::CorruptFileError>(write("l.txt", "clips/a 5\n"), {"l.txt:1:", "2 columns"});
  expect_error<hesp::CorruptFileError>(write("m.txt", "clips/a 5 3 Happy extra\n"),
                                       {"m.txt:1:", "5 columns"});
}

TEST_F(Annotations, FrameCountMustBeAPositiveInteger) {
  for (const std::string bad : {"0", "-3", "abc", "3.5", "99999999999999"}) {
    expect_error<hesp::CorruptFileError>(write("l.txt", "clips/a 5 1\nclips/a " + bad + " 1\n"),
                                         {"l.txt:2:", "num_frames '" + bad + "'"});
  }
}

TEST_F(Annotations, LabelOutsideTheClassList) {
  AnnotationOptions o;
  o.class_names = hesp::data::dfew_class_names();
  expect_error<hesp::CorruptFileError>(write("l.txt", "clips/a 5 7\n"),
                                       {"l.txt:1:", "label id 7", "0-6"}, o);
  expect_error<hesp::CorruptFileError>(write("l.txt", "clips/a 5 x\n"), {"l.txt:1:", "'x'"}, o);
  expect_error<hesp::CorruptFileError>(write("l.txt", "clips/a 5 -1\n"), {"l.txt:1:", "'-1'"}, o);
  o.check_label_text = true;
  expect_error<hesp::CorruptFileError>(write("l.txt", "clips/a 5 0 Angry\n"),
                                       {"l.txt:1:", "'Angry'", "Happy"}, o);
  // Without a class list any non-negative id goes.
  EXPECT_EQ(read_annotations(write("l.txt", "clips/a 5 70\n")).items.at(0).label, 70);
}

TEST_F(Annotations, EmptyFrameFolder) {
  expect_error<hesp::CorruptFileError>(write("l.txt", "clips/empty 5 1\n"),
                                       {"l.txt:1:", "holds no images"});
}

TEST_F(Annotations, UnreadableVideo) {
  expect_error<hesp::CorruptFileError>(write("l.txt", "clips/a 5 1\n\nclips/broken.mp4 5 1\n"),
                                       {"l.txt:3:", "broken.mp4", "not a readable video"});
}

TEST_F(Annotations, MissingAnnotationFile) {
  expect_error<hesp::FileNotFoundError>((root_ / "none.txt").string(), {"none.txt", "not found"});
  AnnotationOptions o;
  o.skip_bad = true;  // skipping applies to lines, not to the file itself
  expect_error<hesp::FileNotFoundError>((root_ / "none.txt").string(), {"none.txt"}, o);
}

TEST_F(Annotations, SkipBadReportsWhatWasSkippedAndWhy) {
  const std::string file = write("l.txt",
                                 "clips/a 5 3 Happy\n"
                                 "clips/nope 5 3\n"
                                 "clips/a five 3\n"
                                 "clips/a 5 30\n"
                                 "clips/empty 4 1\n"
                                 "clips/broken.mp4 4 1\n"
                                 "clips/a 5\n"
                                 "clips/b 3 4\n"
                                 "clips/nope2 5 3\n");
  AnnotationOptions o;
  o.skip_bad = true;
  o.class_names = hesp::data::mafw_class_names();
  const auto a = read_annotations(file, o);
  ASSERT_EQ(a.items.size(), 2u);
  EXPECT_EQ(a.items[0].line, 1);
  EXPECT_EQ(a.items[1].line, 8);
  ASSERT_EQ(a.skipped.size(), 7u);
  EXPECT_EQ(a.skipped[0].reason, SkipReason::kMissingPath);
  EXPECT_EQ(a.skipped[1].reason, SkipReason::kFrameCount);
  EXPECT_EQ(a.skipped[2].reason, SkipReason::kLabel);
  EXPECT_EQ(a.skipped[3].reason, SkipReason::kEmptyFolder);
  EXPECT_EQ(a.skipped[4].reason, SkipReason::kUnreadableVideo);
  EXPECT_EQ(a.skipped[5].reason, SkipReason::kColumns);
  EXPECT_NE(a.skipped[6].message.find("l.txt:9:"), std::string::npos) << a.skipped[6].message;
  EXPECT_EQ(a.skip_summary(),
            "skipped 7 of 9 items: 1 wrong column count, 1 bad frame count, 1 bad label, "
            "2 missing path, 1 empty frame folder, 1 unreadable video");
}

TEST_F(Annotations, FrameCountMismatchIsCountedAndSamplingUsesWhatIsThere) {
  const auto a = read_annotations(write("l.txt", "clips/a 50 3\nclips/b 3 3\n"));
  EXPECT_EQ(a.frame_count_mismatches, 1);
  EXPECT_EQ(a.items[0].num_frames, 50);
  EXPECT_EQ(a.items[0].frame_count(), 5);
}

TEST_F(Annotations, WithoutMediaChecksPathsAreOnlyResolved) {
  AnnotationOptions o;
  o.check_media = false;
  const auto a = read_annotations(write("l.txt", "clips/nope 12 3\n"), o);
  ASSERT_EQ(a.items.size(), 1u);
  EXPECT_EQ(a.items[0].kind, MediaKind::kUnknown);
  EXPECT_EQ(a.items[0].frame_count(), 12);
}

TEST_F(Annotations, FrameFoldersSortNaturally) {
  const auto files = hesp::data::list_frames((root_ / "clips" / "b").string());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(fs::path(files[0]).filename(), "1.jpg");
  EXPECT_EQ(fs::path(files[1]).filename(), "2.jpg");
  EXPECT_EQ(fs::path(files[2]).filename(), "10.jpg");
  EXPECT_EQ(hesp::data::list_frames((root_ / "clips" / "empty").string()).size(), 0u);
  EXPECT_THROW(hesp::data::list_frames((root_ / "nope").string()), hesp::FileNotFoundError);
}

TEST_F(Annotations, ReadsFramesOfFoldersAndVideos) {
  const auto f = hesp::data::read_frames((root_ / "clips" / "a").string(), {4, 0, 4});
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].rgb[0], 50);
  EXPECT_EQ(f[1].rgb[0], 10);
  EXPECT_EQ(f[2].rgb, f[0].rgb);
  const auto v = hesp::data::read_frames((root_ / "clips" / "v.avi").string(), {9, 1});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].width, 32);
  // BGR blue in the writer = the third RGB channel; MJPEG is lossy.
  EXPECT_NEAR(v[0].rgb[2], 180, 8);
  EXPECT_NEAR(v[1].rgb[2], 20, 8);
  EXPECT_THROW(hesp::data::read_frames((root_ / "clips" / "v.avi").string(), {10}),
               hesp::InputError);
  EXPECT_THROW(hesp::data::read_frames((root_ / "clips" / "a").string(), {5}), hesp::InputError);
}

TEST_F(Annotations, ClassFiles) {
  EXPECT_EQ(hesp::data::read_class_file(write("c.txt", "1 Sad\n0 Happy\n")),
            (std::vector<std::string>{"Happy", "Sad"}));
  EXPECT_EQ(hesp::data::read_class_file(write("c.txt", "3 Happy\n")),
            (std::vector<std::string>{"", "", "", "Happy"}));
  try {
    hesp::data::read_class_file(write("c.txt", "0 Happy\n0 Sad\n"));
    ADD_FAILURE();
  } catch (const hesp::CorruptFileError& e) {
    EXPECT_NE(std::string(e.what()).find("c.txt:2:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(hesp::data::read_class_file(write("c.txt", "Happy\n")), hesp::CorruptFileError);
  EXPECT_THROW(hesp::data::read_class_file(write("c.txt", "# nothing\n")), hesp::CorruptFileError);
  EXPECT_THROW(hesp::data::read_class_file((root_ / "none.txt").string()), hesp::FileNotFoundError);
  // A label that falls in a gap of the class list is not in it.
  AnnotationOptions o;
  o.class_names = {"", "Sad"};
  expect_error<hesp::CorruptFileError>(write("l.txt", "clips/a 5 0\n"), {"l.txt:1:", "label id 0"},
                                       o);
}

TEST(ClassNames, DataSets) {
  EXPECT_EQ(hesp::data::class_names("MAFW").size(), 11u);
  EXPECT_EQ(hesp::data::class_names("dfew")[3], "Angry");
  EXPECT_EQ(hesp::data::class_names("afew")[0], "Angry");
  EXPECT_THROW(hesp::data::class_names("ferv39k"), hesp::SettingsError);
}

}  // namespace

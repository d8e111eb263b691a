// SPDX-License-Identifier: LGPL-2.1-or-later
// Synthetic data sets on disk: byte-identical for a seed, annotation files that the data loader
// reads back and that point at the frames written, captions and metadata per clip.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "hesp/dataset.h"
#include "hesp/error.h"
#include "hesp/synth.h"
#include "scratch.h"
#include "synth_suite.h"

namespace fs = std::filesystem;

namespace {

using hesp::test::TempDir;

using hesp::test::read_bytes;

// Every file under a folder, relative path -> contents.
std::map<std::string, std::string> tree(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file())
      out[fs::relative(e.path(), root).string()] = read_bytes(e.path().string());
  return out;
}

hesp::synth::DatasetOptions options(const std::string& dir, std::uint64_t seed) {
  return hesp::test::tiny_dataset_options(
      dir, {seed, /*train_per_class=*/2, /*test_per_class=*/1, /*size=*/64, /*n_frames=*/6,
            "0:Angry,3:Happy,6:Surprise"});
}

TEST(SynthDataset, SameSeedWritesIdenticalBytesWhateverTheThreadCount) {
  TempDir a, b, c;
  hesp::synth::FrameFolderWriter png;
  auto oa = options(a.path(), 7);
  oa.threads = 1;
  auto ob = options(b.path(), 7);
  ob.threads = 3;
  hesp::synth::write_dataset(oa, png);
  hesp::synth::write_dataset(ob, png);
  const auto ta = tree(a.path()), tb = tree(b.path());
  ASSERT_EQ(ta.size(), 3u * 3u * 6u + 5u);  // 9 clips x 6 frames + 5 annotation-type files
  ASSERT_EQ(ta.size(), tb.size());
  for (const auto& [name, bytes] : ta) {
    ASSERT_TRUE(tb.count(name)) << name;
    EXPECT_TRUE(tb.at(name) == bytes) << name << " differs";
  }
  hesp::synth::write_dataset(options(c.path(), 8), png);
  const auto tc = tree(c.path());
  EXPECT_EQ(tc.at("train.txt"), ta.at("train.txt"));  // same layout...
  int same_frames = 0;
  for (const auto& [name, bytes] : ta)
    if (name.find(".png") != std::string::npos && tc.at(name) == bytes) ++same_frames;
  EXPECT_EQ(same_frames, 0) << "...but other pixels";
  EXPECT_NE(tc.at("captions.tsv"), ta.at("captions.tsv"));
}

TEST(SynthDataset, AnnotationFilesReadBackAndPointAtTheFrames) {
  TempDir dir;
  hesp::synth::FrameFolderWriter jpg(hesp::synth::ImageFormat::kJpeg, 90);
  const auto summary = hesp::synth::write_dataset(options(dir.path(), 3), jpg);
  ASSERT_EQ(summary.clips.size(), 9u);

  hesp::data::AnnotationOptions ao;
  ao.class_names = hesp::data::mafw_class_names();
  ao.check_label_text = true;
  const auto train = hesp::data::read_annotations(dir.path() + "/train.txt", ao);
  const auto test = hesp::data::read_annotations(dir.path() + "/test.txt", ao);
  ASSERT_EQ(train.items.size(), 6u);
  ASSERT_EQ(test.items.size(), 3u);
  EXPECT_TRUE(train.skipped.empty());
  EXPECT_EQ(train.frame_count_mismatches, 0);
  std::map<int, int> per_label;
  for (const auto& item : train.items) {
    EXPECT_EQ(item.kind, hesp::data::MediaKind::kFrameFolder);
    EXPECT_EQ(item.num_frames, 6);
    EXPECT_EQ(item.available_frames, 6);
    EXPECT_EQ(hesp::data::list_frames(item.path).size(), 6u);
    EXPECT_EQ(item.label_text, hesp::data::mafw_class_names()[item.label]);
    ++per_label[item.label];
  }
  EXPECT_EQ(per_label, (std::map<int, int>{{0, 2}, {3, 2}, {6, 2}}));  // MAFW ids kept

  // A clip loads through the regular loader.
  hesp::data::ClipLoaderOptions lo;
  lo.num_segments = 4;
  lo.augment.size = 32;
  const auto clip = hesp::data::load_clip(test.items[0], lo);
  EXPECT_EQ(clip.frames.size(), 4u * 32 * 32 * 3);

  // Ids not in the data set are gaps in the id-indexed list.
  EXPECT_EQ(hesp::data::read_class_file(dir.path() + "/classes.txt"),
            (std::vector<std::string>{"Angry", "", "", "Happy", "", "", "Surprise"}));
}

TEST(SynthDataset, ClassesCaptionsAndMetadataFiles) {
  TempDir dir;
  hesp::synth::FrameFolderWriter png;
  auto o = options(dir.path(), 5);
  o.classes = hesp::synth::mafw_classes();
  o.train_per_class = 1;
  o.test_per_class = 0;
  o.clip.n_frames = 3;
  const auto summary = hesp::synth::write_dataset(o, png);
  EXPECT_EQ(hesp::data::read_class_file(dir.path() + "/classes.txt"),
            hesp::data::mafw_class_names());
  EXPECT_EQ(read_bytes(dir.file("test.txt")), "");

  std::ifstream captions(dir.path() + "/captions.tsv");
  std::string line;
  int n = 0;
  while (std::getline(captions, line)) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    EXPECT_EQ(line.substr(0, tab), summary.clips[n].path);
    EXPECT_GT(line.size() - tab, 20u) << "caption too short: " << line;
    EXPECT_TRUE(fs::is_directory(fs::path(dir.path()) / line.substr(0, tab)));
    ++n;
  }
  EXPECT_EQ(n, 11);

  std::ifstream meta(dir.path() + "/metadata.jsonl");
  n = 0;
  while (std::getline(meta, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("path"), summary.clips[n].path);
    EXPECT_EQ(j.at("label_id"), summary.clips[n].label_id);
    EXPECT_EQ(j.at("expression"), summary.clips[n].label);
    EXPECT_EQ(j.at("caption"), summary.clips[n].caption);
    EXPECT_EQ(j.at("seed").get<std::uint64_t>(),
              hesp::synth::clip_seed(5, "train", summary.clips[n].label_id, 0));
    EXPECT_TRUE(j.at("timing").contains("apex_start"));
    ++n;
  }
  EXPECT_EQ(n, 11);
}

TEST(SynthDataset, RefusesToOverwriteUnlessAsked) {
  TempDir dir;
  hesp::synth::FrameFolderWriter png;
  auto o = options(dir.path(), 1);
  hesp::synth::write_dataset(o, png);
  EXPECT_THROW(hesp::synth::write_dataset(o, png), hesp::SettingsError);
  o.overwrite = true;
  o.train_per_class = 1;
  o.test_per_class = 0;
  hesp::synth::write_dataset(o, png);
  // The old, larger data set is gone: no stale clips.
  int folders = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.path() + "/clips"))
    folders += e.is_directory() && e.path().parent_path().parent_path().filename() == "clips";
  EXPECT_EQ(folders, 3);
  EXPECT_FALSE(fs::exists(dir.path() + "/clips/test"));
}

TEST(SynthDataset, RejectsBadOptions) {
  hesp::synth::FrameFolderWriter png;
  TempDir dir;
  auto o = options(dir.path(), 1);
  o.train_per_class = o.test_per_class = 0;
  EXPECT_THROW(hesp::synth::write_dataset(o, png), hesp::SettingsError);
  o = options(dir.path(), 1);
  o.classes.push_back({0, "Sad"});  // id 0 twice
  EXPECT_THROW(hesp::synth::write_dataset(o, png), hesp::SettingsError);
  o = options(dir.path(), 1);
  o.classes = {{0, "Bored"}};
  EXPECT_THROW(hesp::synth::write_dataset(o, png), hesp::SettingsError);
  o = options("", 1);
  EXPECT_THROW(hesp::synth::write_dataset(o, png), hesp::SettingsError);
  EXPECT_THROW(hesp::synth::FrameFolderWriter(hesp::synth::ImageFormat::kJpeg, 0),
               hesp::SettingsError);
}

TEST(SynthDataset, ClipSeedsAreStableAndDistinct) {
  EXPECT_EQ(hesp::synth::clip_seed(1, "train", 3, 0), hesp::synth::clip_seed(1, "train", 3, 0));
  EXPECT_NE(hesp::synth::clip_seed(1, "train", 3, 0), hesp::synth::clip_seed(1, "test", 3, 0));
  EXPECT_NE(hesp::synth::clip_seed(1, "train", 3, 0), hesp::synth::clip_seed(1, "train", 4, 0));
  EXPECT_NE(hesp::synth::clip_seed(1, "train", 3, 0), hesp::synth::clip_seed(1, "train", 3, 1));
  EXPECT_NE(hesp::synth::clip_seed(1, "train", 3, 0), hesp::synth::clip_seed(2, "train", 3, 0));
}

TEST(SynthDataset, PreviewSheetHasOneRowPerClass) {
  TempDir dir;
  const std::string png = dir.path() + "/sheet.png";
  hesp::synth::write_preview(png, hesp::synth::parse_classes("Happy,Sad"), 1, 3, 48);
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 1000u);
}

}  // namespace

namespace {

TEST(SynthDataset, FaceCropsFillTheFrameAndCaptionsCanLeaveOutContext) {
  TempDir scene, crop;
  hesp::synth::FrameFolderWriter png;
  auto o = options(scene.path(), 4);
  const auto a = hesp::synth::write_dataset(o, png);
  o.out_dir = crop.path();
  o.face_crop = true;
  o.clip.caption_context = false;
  const auto b = hesp::synth::write_dataset(o, png);
  ASSERT_EQ(a.clips.size(), b.clips.size());
  // Same clips, same size, other pixels: the crop is a close-up of the same face.
  const auto frame = [](const std::string& root, const std::string& clip) {
    return cv::imread((fs::path(root) / clip / "00001.png").string());
  };
  const cv::Mat full = frame(scene.path(), a.clips[0].path);
  const cv::Mat face = frame(crop.path(), b.clips[0].path);
  ASSERT_FALSE(full.empty());
  ASSERT_FALSE(face.empty());
  EXPECT_EQ(face.size(), full.size());
  EXPECT_GT(cv::norm(full, face, cv::NORM_L1) / full.total(), 5.0);
  // Without context the captions name no hair and no room, and they still describe the face.
  for (const auto& c : b.clips) {
    EXPECT_EQ(c.caption.find("hair"), std::string::npos) << c.caption;
    EXPECT_EQ(c.caption.find("Filmed"), std::string::npos) << c.caption;
    EXPECT_GT(c.caption.size(), 20u) << c.caption;
  }
  // Deterministic like every other option.
  TempDir again;
  o.out_dir = again.path();
  hesp::synth::write_dataset(o, png);
  EXPECT_EQ(tree(crop.path()), tree(again.path()));
  o.face_margin = 2.f;
  EXPECT_THROW(hesp::synth::write_dataset(o, png), hesp::SettingsError);
}

}  // namespace

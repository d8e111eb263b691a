// SPDX-License-Identifier: LGPL-2.1-or-later
// Writing a synthetic data set: clips rendered in parallel (each clip depends only on its own
// seed, so the thread count does not change a byte), then the annotation files in a fixed order.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <thread>

#include "hesp/error.h"
#include "hesp/synth.h"
#include "synth/expression_script.h"
#include "synth/synth_rng.h"

namespace fs = std::filesystem;

namespace hesp::synth {

namespace {

// Names of everything write_dataset creates inside out_dir; the only things --overwrite removes.
const char* const kClipsDir = "clips";
const char* const kOutputs[] = {"train.txt", "test.txt", "classes.txt", "captions.tsv",
                                "metadata.jsonl"};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw Error("cannot write '" + path.string() + "'");
}

std::string padded(int value, int width) {
  std::string s = std::to_string(value);
  return std::string(static_cast<std::size_t>(std::max(0, width - static_cast<int>(s.size()))),
                     '0') +
         s;
}

}  // namespace

FrameFolderWriter::FrameFolderWriter(ImageFormat format, int jpeg_quality)
    : format_(format), jpeg_quality_(jpeg_quality) {
  if (jpeg_quality < 1 || jpeg_quality > 100)
    throw SettingsError("JPEG quality " + std::to_string(jpeg_quality) +
                        " is out of range (1-100)");
}

std::string FrameFolderWriter::write(const std::string& out_dir, const std::string& stem,
                                     const std::vector<std::vector<std::uint8_t>>& frames, int size,
                                     double /*fps*/) {
  const fs::path dir = fs::path(out_dir) / stem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create folder '" + dir.string() + "': " + ec.message());
  const char* ext = format_ == ImageFormat::kPng ? ".png" : ".jpg";
  // Fixed encoder settings: output bytes must not depend on library defaults.
  const std::vector<int> params =
      format_ == ImageFormat::kPng
          ? std::vector<int>{cv::IMWRITE_PNG_COMPRESSION, 3}
          : std::vector<int>{cv::IMWRITE_JPEG_QUALITY, jpeg_quality_, cv::IMWRITE_JPEG_OPTIMIZE, 0};
  const int digits = std::max(5, static_cast<int>(std::to_string(frames.size()).size()));
  cv::Mat bgr;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const cv::Mat rgb(size, size, CV_8UC3, const_cast<std::uint8_t*>(frames[i].data()));
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    const fs::path file = dir / (padded(static_cast<int>(i) + 1, digits) + ext);
    if (!cv::imwrite(file.string(), bgr, params))
      throw Error("cannot write frame '" + file.string() + "'");
  }
  return stem;
}

std::uint64_t clip_seed(std::uint64_t dataset_seed, const std::string& split, int class_id,
                        int index) {
  using detail::mix_seed;
  return mix_seed(mix_seed(mix_seed(dataset_seed, detail::hash_string(split)),
                           static_cast<std::uint64_t>(class_id)),
                  static_cast<std::uint64_t>(index));
}

// Renders every frame at the clip's own size and cuts one square around the face from each,
// resized to `size`: one crop per clip (like a data set's aligned faces), so the head still moves
// within it.
static void render_face_crops(const SyntheticClip& clip, float margin, int size,
                              std::vector<std::vector<std::uint8_t>>* frames) {
  const int full = clip.settings().size;
  const int n = clip.settings().n_frames;
  Box face = clip.face_box(0);
  for (int f = 1; f < n; ++f) {
    const Box b = clip.face_box(f);
    const float x0 = std::min(face.x, b.x), y0 = std::min(face.y, b.y);
    const float x1 = std::max(face.x + face.width, b.x + b.width);
    const float y1 = std::max(face.y + face.height, b.y + b.height);
    face = {x0, y0, x1 - x0, y1 - y0};
  }
  const Box square = clip_to_frame(square_around(face, margin), full, full);
  const cv::Rect roi(static_cast<int>(square.x), static_cast<int>(square.y),
                     std::max(1, static_cast<int>(square.width)),
                     std::max(1, static_cast<int>(square.height)));
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(full) * full * 3);
  for (int f = 0; f < n; ++f) {
    clip.render(f, rgb.data());
    const cv::Mat image(full, full, CV_8UC3, rgb.data());
    cv::Mat out(size, size, CV_8UC3, (*frames)[f].data());
    cv::resize(image(roi & cv::Rect(0, 0, full, full)), out, out.size(), 0, 0, cv::INTER_AREA);
  }
}

void validate(const DatasetOptions& o) {
  if (o.out_dir.empty()) throw SettingsError("no output folder given for the synthetic data set");
  validate(o.clip);
  if (o.train_per_class < 0 || o.test_per_class < 0)
    throw SettingsError("clips per class cannot be negative");
  if (o.train_per_class + o.test_per_class == 0)
    throw SettingsError("the data set would be empty: ask for at least one clip per class");
  if (o.train_per_class > 100000 || o.test_per_class > 100000)
    throw SettingsError("at most 100000 clips per class and split");
  if (o.classes.empty()) throw SettingsError("the class list is empty");
  if (o.threads < 0) throw SettingsError("thread count cannot be negative");
  if (!(o.face_margin >= 0.f && o.face_margin <= 1.f))
    throw SettingsError("face margin must be between 0 and 1");
  std::set<int> ids;
  std::set<std::string> names;
  for (const auto& c : o.classes) {
    detail::expression_index(c.name);  // throws for names the generator cannot draw
    if (c.id < 0) throw SettingsError("class id " + std::to_string(c.id) + " is negative");
    if (!ids.insert(c.id).second)
      throw SettingsError("class id " + std::to_string(c.id) + " is used twice");
    if (!names.insert(c.name).second) throw SettingsError("class " + c.name + " is listed twice");
  }
}

DatasetSummary write_dataset(const DatasetOptions& options, ClipWriter& writer,
                             const ProgressFn& progress) {
  validate(options);
  const fs::path out(options.out_dir);
  std::error_code ec;
  if (fs::exists(out / "classes.txt") || fs::exists(out / kClipsDir)) {
    if (!options.overwrite)
      throw SettingsError("'" + options.out_dir +
                          "' already holds a data set; choose another folder or overwrite it");
    fs::remove_all(out / kClipsDir, ec);
    for (const char* name : kOutputs) fs::remove(out / name, ec);
  }
  fs::create_directories(out, ec);
  if (ec) throw Error("cannot create folder '" + options.out_dir + "': " + ec.message());

  struct Job {
    std::string split;
    ExpressionClass cls;
    int index;
  };
  std::vector<Job> jobs;
  for (const char* split : {"train", "test"}) {
    const int n = std::string(split) == "train" ? options.train_per_class : options.test_per_class;
    for (const auto& c : options.classes)
      for (int i = 0; i < n; ++i) jobs.push_back({split, c, i});
  }
  const int digits = std::max(
      4, static_cast<int>(
             std::to_string(std::max(options.train_per_class, options.test_per_class)).size()));

  DatasetSummary summary;
  summary.clips.resize(jobs.size());
  std::vector<std::string> metadata(jobs.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mutex;
  int done = 0;
  const auto worker = [&] {
    try {
      for (std::size_t j = next++; j < jobs.size() && !failed; j = next++) {
        const Job& job = jobs[j];
        const std::uint64_t seed = clip_seed(options.seed, job.split, job.cls.id, job.index);
        const int size = options.clip.size;
        ClipSettings render_settings = options.clip;
        if (options.face_crop) render_settings.size = 2 * size;
        const SyntheticClip clip(job.cls.name, seed, render_settings);
        std::vector<std::vector<std::uint8_t>> frames(
            options.clip.n_frames,
            std::vector<std::uint8_t>(static_cast<std::size_t>(size) * size * 3));
        if (options.face_crop)
          render_face_crops(clip, options.face_margin, size, &frames);
        else
          for (int f = 0; f < options.clip.n_frames; ++f) clip.render(f, frames[f].data());
        const std::string stem = std::string(kClipsDir) + "/" + job.split + "/" + job.cls.name +
                                 "/" + padded(job.index, digits);
        const std::string path =
            writer.write(options.out_dir, stem, frames, size, options.clip.fps);
        DatasetClip& d = summary.clips[j];
        d.path = path;
        d.split = job.split;
        d.label_id = job.cls.id;
        d.label = job.cls.name;
        d.n_frames = options.clip.n_frames;
        d.seed = seed;
        d.caption = clip.caption();
        nlohmann::json meta = nlohmann::json::parse(clip.metadata_json());
        meta["path"] = path;
        meta["split"] = job.split;
        meta["label_id"] = job.cls.id;
        meta["label"] = job.cls.name;
        metadata[j] = meta.dump();
        if (progress) {
          std::lock_guard<std::mutex> lock(mutex);
          progress(++done, static_cast<int>(jobs.size()));
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min<int>(threads, static_cast<int>(jobs.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  std::string train, test, captions, meta, classes;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const DatasetClip& d = summary.clips[j];
    const std::string line = d.path + " " + std::to_string(d.n_frames) + " " +
                             std::to_string(d.label_id) + " " + d.label + "\n";
    (d.split == "train" ? train : test) += line;
    captions += d.path + "\t" + d.caption + "\n";
    meta += metadata[j] + "\n";
  }
  std::vector<ExpressionClass> sorted = options.classes;
  std::sort(sorted.begin(), sorted.end(),
            [](const ExpressionClass& a, const ExpressionClass& b) { return a.id < b.id; });
  for (const auto& c : sorted) classes += std::to_string(c.id) + " " + c.name + "\n";
  write_text(out / "train.txt", train);
  write_text(out / "test.txt", test);
  write_text(out / "classes.txt", classes);
  write_text(out / "captions.tsv", captions);
  write_text(out / "metadata.jsonl", meta);
  summary.files = {"train.txt", "test.txt", "classes.txt", "captions.tsv", "metadata.jsonl"};
  return summary;
}

void write_preview(const std::string& png_path, const std::vector<ExpressionClass>& classes,
                   std::uint64_t seed, int columns, int tile_size) {
  if (classes.empty()) throw SettingsError("no classes to preview");
  if (columns < 1 || columns > 64) throw SettingsError("preview columns must be 1-64");
  ClipSettings settings;
  settings.size = tile_size;
  settings.n_frames = 16;
  validate(settings);
  const double font = std::max(0.35, tile_size / 280.0);
  int label_w = tile_size / 2;
  for (const auto& c : classes) {
    int baseline = 0;
    const cv::Size text = cv::getTextSize(std::to_string(c.id) + " " + c.name,
                                          cv::FONT_HERSHEY_SIMPLEX, font, 1, &baseline);
    label_w = std::max(label_w, text.width + 12);
  }
  cv::Mat sheet(tile_size * static_cast<int>(classes.size()), label_w + tile_size * columns,
                CV_8UC3, cv::Scalar(255, 255, 255));
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(tile_size) * tile_size * 3);
  for (std::size_t r = 0; r < classes.size(); ++r) {
    const int y = static_cast<int>(r) * tile_size;
    cv::putText(sheet, std::to_string(classes[r].id) + " " + classes[r].name,
                cv::Point(6, y + tile_size / 2), cv::FONT_HERSHEY_SIMPLEX, font,
                cv::Scalar(20, 20, 20), 1, cv::LINE_AA);
    for (int c = 0; c < columns; ++c) {
      const SyntheticClip clip(classes[r].name, clip_seed(seed, "preview", classes[r].id, c),
                               settings);
      clip.render(clip.apex_frame(), rgb.data());
      const cv::Mat tile(tile_size, tile_size, CV_8UC3, rgb.data());
      cv::Mat bgr;
      cv::cvtColor(tile, bgr, cv::COLOR_RGB2BGR);
      bgr.copyTo(sheet(cv::Rect(label_w + c * tile_size, y, tile_size, tile_size)));
    }
  }
  const fs::path parent = fs::path(png_path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (!cv::imwrite(png_path, sheet)) throw Error("cannot write preview '" + png_path + "'");
}

}  // namespace hesp::synth

// SPDX-License-Identifier: LGPL-2.1-or-later
// Tiny synthetic data sets (hesp synth) for tests: the options, and a fixture base whose suite
// writes one into a temporary folder before its first test and removes it after its last.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hesp/dataset.h"
#include "hesp/synth.h"

namespace hesp::test {

struct TinyDataset {
  std::uint64_t seed;
  int train_per_class;
  int test_per_class;
  int size;      // frame side in pixels
  int n_frames;  // frames per clip
  std::string classes;
  bool camera_effects = true;
};

// Options writing `d` into `dir` with 2 threads.
inline hesp::synth::DatasetOptions tiny_dataset_options(const std::string& dir,
                                                        const TinyDataset& d) {
  hesp::synth::DatasetOptions o;
  o.out_dir = dir;
  o.seed = d.seed;
  o.train_per_class = d.train_per_class;
  o.test_per_class = d.test_per_class;
  o.clip.size = d.size;
  o.clip.n_frames = d.n_frames;
  o.clip.camera_effects = d.camera_effects;
  o.classes = hesp::synth::parse_classes(d.classes);
  o.threads = 2;
  return o;
}

// Base of a fixture (Suite: the fixture itself, so that each suite has its own folder) whose
// SetUpTestSuite calls write_dataset().
template <class Suite>
class SynthDatasetSuite : public ::testing::Test {
 protected:
  // Writes `d` as frame folders into a folder named `name` + the process id.
  static void write_dataset(const std::string& name, const TinyDataset& d) {
    dir_ = std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()));
    hesp::synth::FrameFolderWriter writer;
    hesp::synth::write_dataset(tiny_dataset_options(dir_.string(), d), writer);
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  // A file in the data set's folder.
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static std::vector<hesp::data::AnnotationItem> train_items() {
    return hesp::data::read_annotations(path("train.txt")).items;
  }

  // What a short training run on the data set sets in its Options (hesp::EmoClipTrainOptions or
  // hesp::HespTrainOptions): the run's size and seed, 2 threads, 1 loader thread, the pack written
  // to path(out).
  struct TinyRun {
    int frames;
    int epochs;
    int batch_size;
    std::uint64_t seed;
  };
  template <class Options>
  static void set_tiny_run(Options& o, const TinyRun& run, const std::string& out) {
    o.frames = run.frames;
    o.epochs = run.epochs;
    o.batch_size = run.batch_size;
    o.seed = run.seed;
    o.threads = 2;
    o.loader_threads = 1;
    o.output_path = path(out);
  }

 private:
  static inline std::filesystem::path dir_;
};

}  // namespace hesp::test

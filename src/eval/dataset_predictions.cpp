// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hesp/dataset_predictions.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "hesp/error.h"
#include "util/strings.h"

namespace hesp::eval {
namespace {

// For each known class, the index of its logit in the model's output.
std::vector<int> logit_columns(const ExpressionModel& model,
                               const std::vector<std::string>& known) {
  std::vector<int> columns;
  for (const std::string& name : known) {
    const auto& classes = model.class_names();
    auto it = std::find_if(classes.begin(), classes.end(), [&](const std::string& c) {
      return util::lower(c) == util::lower(name);
    });
    if (it == classes.end()) {
      std::string list;
      for (const auto& c : classes) list += (list.empty() ? "" : ", ") + c;
      throw SettingsError("model pack '" + model.path() + "' has no class '" + name +
                          "' (it knows: " + list + ")");
    }
    columns.push_back(static_cast<int>(it - classes.begin()));
  }
  return columns;
}

// Loads clips [begin, end) of `items` at test settings, several at a time.
std::vector<data::ClipSample> load_range(const std::vector<const data::AnnotationItem*>& items,
                                         std::size_t begin, std::size_t end,
                                         const data::ClipLoaderOptions& loader, int threads) {
  std::vector<data::ClipSample> clips(end - begin);
  std::atomic<std::size_t> next{begin};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    for (std::size_t i = next++; i < end; i = next++) {
      try {
        clips[i - begin] = data::load_clip(*items[i], loader, 0, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = end;
      }
    }
  };
  std::vector<std::thread> pool;
  const int workers = std::max(1, std::min<int>(threads, static_cast<int>(end - begin)));
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  return clips;
}

}  // namespace

PredictionSet predict_dataset(ExpressionModel& model, const data::SplitItems& items,
                              const DatasetPredictionOptions& options) {
  if (options.known_names.empty()) throw SettingsError("no known classes to evaluate");
  if (options.batch_size < 1) throw SettingsError("batch size must be at least 1");
  const std::vector<int> columns = logit_columns(model, options.known_names);
  PredictionSet set;
  set.name = options.name;
  set.source = model.path();
  set.classes = options.known_names;
  set.score_rule =
      parse_score_rule(options.score_rule.empty() ? model.score_rule() : options.score_rule);

  data::ClipLoaderOptions loader;
  loader.num_segments = options.frames > 0 ? options.frames : model.frames_per_clip();
  loader.mode = data::SamplingMode::kTest;
  loader.augment.train = false;
  // Crops at the model's input size: classify() would resize anything else anyway.
  loader.augment.size = model.input_size();

  std::vector<const data::AnnotationItem*> all;
  for (const auto& item : items.known) all.push_back(&item);
  for (const auto& item : items.unknown) all.push_back(&item);
  const int total = static_cast<int>(all.size());
  for (std::size_t begin = 0; begin < all.size(); begin += options.batch_size) {
    const std::size_t end = std::min(all.size(), begin + options.batch_size);
    const auto clips = load_range(all, begin, end, loader, options.loader_threads);
    std::vector<ClipView> views;
    for (const auto& c : clips) views.push_back({c.frames.data(), c.n_frames, c.size});
    // The unknown decision is not needed here: metrics sweep every threshold.
    const auto results = model.classify(views, -std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < results.size(); ++i) {
      const data::AnnotationItem& item = *all[begin + i];
      ClipPrediction p;
      p.id = item.rel_path;
      p.label = begin + i < items.known.size() ? item.label : kUnknownLabel;
      for (int c : columns) p.logits.push_back(results[i].logits.at(c));
      p.open_set_score = open_set_score(p.logits, set.score_rule);
      set.clips.push_back(std::move(p));
    }
    if (options.progress) options.progress(static_cast<int>(end), total);
  }
  return set;
}

}  // namespace hesp::eval

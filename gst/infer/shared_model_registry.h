// SPDX-License-Identifier: LGPL-2.1-or-later
// hespinfer's model instances. Every hespinfer holds its model through a ModelInstance; elements
// with the same `model-instance-id` get the same one from the process-wide registry, so one set
// of weights, one frame cache and (in async mode) one inference worker serve all their streams.
// An element without an id gets a private instance, which behaves exactly like an element that
// owns its model.
//
// The registry holds instances weakly: the first element to start loads the model, the last
// one to stop releases it. An element that asks for an id already loaded with other
// load-affecting settings (model, device, precision, ...) gets a SettingsError naming both,
// never the other element's model.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "hesp/expression_model.h"

namespace hesp::gst {

class InferenceWorker;

// The settings that decide what a load produces, as (property name, value) pairs in a fixed order.
using LoadSettings = std::vector<std::pair<std::string, std::string>>;

struct InstanceInfo {
  unsigned users = 0;       // elements holding the instance now
  std::uint64_t loads = 0;  // times the model of this id was loaded in this process
};

class ModelInstance : public std::enable_shared_from_this<ModelInstance> {
 public:
  ModelInstance(std::string id, LoadSettings settings, std::shared_ptr<ExpressionModel> model);
  ~ModelInstance();
  ModelInstance(const ModelInstance&) = delete;
  ModelInstance& operator=(const ModelInstance&) = delete;

  // A private instance, for an element without a model-instance-id.
  static std::shared_ptr<ModelInstance> make_private(std::shared_ptr<ExpressionModel> model);

  const std::string& id() const { return id_; }
  bool shared() const { return !id_.empty(); }
  const LoadSettings& settings() const { return settings_; }
  // Read-only after loading (names, classes, thresholds) are safe to read from any thread; every
  // call that runs the model or touches its frame cache must hold run_lock().
  ExpressionModel& model() const { return *model_; }
  const std::shared_ptr<ExpressionModel>& model_ptr() const { return model_; }
  std::unique_lock<std::mutex> run_lock() { return std::unique_lock<std::mutex>(run_mutex_); }

  // The frame cache is keyed by (track, frame key); tracks and PTS of different streams collide,
  // so each element of a shared instance gets a tag of its own to put above its track ids.
  // Private instances always give 0, which leaves the keys as they were.
  std::uint64_t new_stream_tag();

  // The instance's inference worker, started by the first async element that asks and stopped
  // when the last one lets go of it.
  std::shared_ptr<InferenceWorker> worker(int nice);

 private:
  const std::string id_;
  const LoadSettings settings_;
  std::shared_ptr<ExpressionModel> model_;
  std::mutex run_mutex_;
  std::mutex worker_mutex_;
  std::weak_ptr<InferenceWorker> worker_;
  std::uint64_t next_tag_ = 0;

  friend std::shared_ptr<ModelInstance> acquire_model_instance(
      const std::string&, const LoadSettings&,
      const std::function<std::shared_ptr<ExpressionModel>()>&);
  friend InstanceInfo model_instance_info(const std::string&);
  unsigned users_ = 0;  // leases handed out by acquire_model_instance(); under the registry lock
};

// Returns a lease on the instance for `id` (non-empty), loading it with `load` when no element
// holds it; the model is released when the last lease (and the worker) goes.
// Throws SettingsError when it is held with other settings; whatever `load` throws passes on.
std::shared_ptr<ModelInstance> acquire_model_instance(
    const std::string& id, const LoadSettings& settings,
    const std::function<std::shared_ptr<ExpressionModel>()>& load);

InstanceInfo model_instance_info(const std::string& id);

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
#include "infer/shared_model_registry.h"

#include <map>
#include <sstream>

#include "hesp/error.h"
#include "infer/inference_worker.h"

namespace hesp::gst {

namespace {

struct Entry {
  std::weak_ptr<ModelInstance> instance;
  std::uint64_t loads = 0;
};

// Held while loading too: two elements that start at once with the same id must not both load.
// Never destroyed, like the map below.
std::mutex& registry_mutex() {
  static auto* m = new std::mutex();
  return *m;
}

// Never destroyed: an element still held at exit may release its lease after static destructors.
std::map<std::string, Entry>& registry() {
  static auto* r = new std::map<std::string, Entry>();
  return *r;
}

std::string describe(const LoadSettings& settings) {
  std::ostringstream out;
  for (std::size_t i = 0; i < settings.size(); ++i)
    out << (i ? " " : "") << settings[i].first << "=\"" << settings[i].second << '"';
  return out.str();
}

}  // namespace

ModelInstance::ModelInstance(std::string id, LoadSettings settings,
                             std::shared_ptr<ExpressionModel> model)
    : id_(std::move(id)), settings_(std::move(settings)), model_(std::move(model)) {}

ModelInstance::~ModelInstance() = default;

std::shared_ptr<ModelInstance> ModelInstance::make_private(std::shared_ptr<ExpressionModel> model) {
  return std::make_shared<ModelInstance>(std::string(), LoadSettings(), std::move(model));
}

std::uint64_t ModelInstance::new_stream_tag() {
  if (!shared()) return 0;
  std::lock_guard<std::mutex> lock(worker_mutex_);
  return ++next_tag_;
}

std::shared_ptr<InferenceWorker> ModelInstance::worker(int nice) {
  std::lock_guard<std::mutex> lock(worker_mutex_);
  std::shared_ptr<InferenceWorker> w = worker_.lock();
  if (!w) {
    w = std::make_shared<InferenceWorker>(shared_from_this(), nice);
    worker_ = w;
  }
  return w;
}

std::shared_ptr<ModelInstance> acquire_model_instance(
    const std::string& id, const LoadSettings& settings,
    const std::function<std::shared_ptr<ExpressionModel>()>& load) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  Entry& entry = registry()[id];
  std::shared_ptr<ModelInstance> instance = entry.instance.lock();
  if (instance && instance->settings() != settings) {
    throw SettingsError("model-instance-id \"" + id + "\" is already loaded with " +
                        describe(instance->settings()) + ", but this element asks for " +
                        describe(settings) +
                        "; elements sharing a model instance must load it with the same settings");
  }
  if (!instance) {
    instance = std::make_shared<ModelInstance>(id, settings, load());
    entry.instance = instance;
    ++entry.loads;
  }
  ++instance->users_;
  // The lease is a handle of its own whose release counts the user out; it keeps the instance
  // alive through the captured reference.
  return std::shared_ptr<ModelInstance>(instance.get(), [instance](ModelInstance* p) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    --p->users_;
  });
}

InstanceInfo model_instance_info(const std::string& id) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  InstanceInfo info;
  const auto it = registry().find(id);
  if (it == registry().end()) return info;
  info.loads = it->second.loads;
  if (auto instance = it->second.instance.lock()) info.users = instance->users_;
  return info;
}

}  // namespace hesp::gst

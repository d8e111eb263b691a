// SPDX-License-Identifier: LGPL-2.1-or-later
// What every hesp element keeps beside its GObject: property values (Settings) and runtime state
// (State), each behind its own lock, as gst-plugins-rs elements do. The split is what keeps an
// element responsive: set_property runs on the application's thread while the streaming thread
// works on State, and the streaming thread only ever copies Settings out, so changing a property
// never waits for a frame (or a model load) to finish.
//
// The element's instance struct holds one pointer to its private C++ object (created in _init,
// deleted in finalize); that object is, or derives from, ElementData<Settings, State>.
#pragma once

#include <gst/gst.h>

#include <mutex>
#include <utility>

namespace hesp::gst {

// A value behind its own mutex. Callers get a copy, or run a short function under the lock.
template <typename T>
class Guarded {
 public:
  // A snapshot: a streaming thread works on its copy without holding the lock.
  T get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return value_;
  }

  // Runs fn(value) under the lock; for reading or writing a field in place (properties).
  template <typename Fn>
  decltype(auto) with(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::forward<Fn>(fn)(value_);
  }

 private:
  mutable std::mutex mutex_;
  T value_{};
};

template <typename SettingsT, typename StateT>
class ElementData {
 public:
  using Settings = SettingsT;
  using State = StateT;

  Guarded<Settings> settings;

  // The state, locked for as long as this handle lives, together with the sticky failure flag.
  class LockedState {
   public:
    State& operator*() const { return data_->state_; }
    State* operator->() const { return &data_->state_; }

    // Set by a vfunc that failed after posting its error. It stays set until the next start():
    // later buffers fail at once instead of running on half-updated state and posting the same
    // error again for every frame.
    bool failed() const { return data_->failed_; }
    void set_failed() { data_->failed_ = true; }
    void clear_failed() { data_->failed_ = false; }

    // What a vfunc returns after its work `succeeded` or failed (its error already posted): a
    // failure becomes sticky.
    GstFlowReturn flow_return(bool succeeded) {
      if (succeeded) return GST_FLOW_OK;
      set_failed();
      return GST_FLOW_ERROR;
    }

   private:
    friend class ElementData;
    explicit LockedState(ElementData* data) : lock_(data->state_mutex_), data_(data) {}
    std::unique_lock<std::mutex> lock_;
    ElementData* data_;
  };

  LockedState lock_state() { return LockedState(this); }

  // start(): the state built from a settings snapshot replaces the old one and an earlier
  // failure is forgotten. Build `fresh` before calling, without the lock: loading a model takes
  // seconds and must not block a thread that only wants to look at the state.
  void start(State fresh) {
    LockedState st = lock_state();
    *st = std::move(fresh);
    st.clear_failed();
  }

  // stop(): drops models, files and queues, so an element in NULL holds no resources.
  void stop() { start(State{}); }

 private:
  std::mutex state_mutex_;
  State state_;
  bool failed_ = false;
};

}  // namespace hesp::gst

// SPDX-License-Identifier: LGPL-2.1-or-later
// The one place a device string ("cpu", "cuda", "cuda:N") becomes a LibTorch device, so every
// model and trainer refuses the same things with the same words.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace hesp::torch_util {

// Throws SettingsError for another spelling, for CUDA when this LibTorch has none or no GPU is
// visible (saying which), and for a CUDA index past the last device. Never falls back to the CPU.
c10::Device torch_device(const std::string& spec);

}  // namespace hesp::torch_util

// What differs between devices and between the two libtorch versions the backends build against:
// synchronising, the allocator's memory limit, bf16 autocast and TF32. CUDA calls exist only in the
// CUDA backend (TESSERA_BACKEND_CUDA); the CPU backend refuses what needs them.
#pragma once
#ifndef TORCH_VERSION_MAJOR
#error "core/backend/device.h is for the backend's torch translation units: include core/backend/torch_pch.h first"
#endif

#include <cstdint>
#include <memory>
#include <string>

#include "core/engine/device_probe.h"
#include "core/engine/stage_types.h"

namespace tessera::engine {

torch::Device torch_device(const DeviceChoice& choice);
void synchronize(const torch::Device& device);
// CUDA device `index` runs bf16 matrix products on tensor cores (compute capability 8.0 or later).
bool device_has_fast_bf16(int index);
std::int64_t device_total_memory(const torch::Device& device);  // 0 on the CPU

// Whether a stage or trainer on `device` computes under bf16 autocast: automatic means bf16 on a
// CUDA device with fast bf16 (compute 8.0+) and fp32 elsewhere; bf16 on the CPU is refused
// (std::invalid_argument). Also sets how fp32 matrix products run on CUDA, for the whole process:
// TF32 under mixed precision, full fp32 otherwise.
bool use_bf16(Precision precision, const torch::Device& device);

// On a CUDA device, for one stage's life: refuses (std::runtime_error) a stage whose memory estimate
// the device cannot hold, or cannot hold within `limit_bytes` (the stage's memory limit, the power
// settings' device share; 0: none); then caps the device's caching allocator at the sum of the
// limits of the stages alive in the process, or lifts the cap while one of them has none. Nothing
// on the CPU.
class DeviceMemoryCap {
 public:
  DeviceMemoryCap() = default;
  DeviceMemoryCap(const torch::Device& device, std::int64_t limit_bytes, std::int64_t estimate_bytes,
                  const std::string& what);
  ~DeviceMemoryCap();
  DeviceMemoryCap(const DeviceMemoryCap&) = delete;
  DeviceMemoryCap& operator=(const DeviceMemoryCap&) = delete;

 private:
  torch::Device device_{torch::kCPU};
  std::int64_t limit_bytes_ = 0;
  bool active_ = false;
};

// Runs the enclosed forward computations under bf16 autocast on CUDA when `enabled`; restores the
// previous state and drops the autocast weight cache on exit (weights change between steps).
class AutocastScope {
 public:
  explicit AutocastScope(bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool was_enabled_ = false;
};

}  // namespace tessera::engine

// Device-dependent pieces of the backend (device.h).
#include "core/backend/torch_pch.h"

#include "core/backend/device.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/model/model_config.h"

#if TESSERA_BACKEND_CUDA
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace tessera::engine {

torch::Device torch_device(const DeviceChoice& choice) {
  return choice.cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(choice.index))
                     : torch::Device(torch::kCPU);
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

bool device_has_fast_bf16(int index) {
#if TESSERA_BACKEND_CUDA
  return at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(index))->major >= 8;
#else
  (void)index;
  return false;
#endif
}

std::int64_t device_total_memory(const torch::Device& device) {
#if TESSERA_BACKEND_CUDA
  if (device.is_cuda()) return static_cast<std::int64_t>(at::cuda::getDeviceProperties(device.index())->totalGlobalMem);
#endif
  (void)device;
  return 0;
}

bool use_bf16(Precision precision, const torch::Device& device) {
  if (precision == Precision::bf16 && !device.is_cuda())
    throw std::invalid_argument("bf16 precision needs a CUDA device; the CPU trains in fp32");
  // automatic: bf16 where tensor cores run it (compute 8.0+); older GPUs (V100, T4) train in fp32.
  const bool bf16 = device.is_cuda() && (precision == Precision::bf16 ||
                                         (precision == Precision::automatic && device_has_fast_bf16(device.index())));
#if TESSERA_BACKEND_CUDA
  if (device.is_cuda()) at::globalContext().setFloat32MatmulPrecision(bf16 ? "high" : "highest");
#endif
  return bf16;
}

namespace {

// What the stages alive in this process ask of each CUDA device: the caching allocator's cap is one
// per device and process, so it is the sum of their limits, or none while one of them has none.
struct DeviceLimits {
  std::int64_t limited_bytes = 0;
  int unlimited = 0;
};
std::mutex limits_mutex;
std::map<int, DeviceLimits> limits;

void apply_cap(const torch::Device& device, const DeviceLimits& asked) {
#if TESSERA_BACKEND_CUDA
  const double total = static_cast<double>(device_total_memory(device));
  const double fraction = asked.unlimited > 0 || asked.limited_bytes <= 0
                              ? 1.0
                              : std::min(1.0, static_cast<double>(asked.limited_bytes) / total);
  (void)torch::empty({1}, torch::TensorOptions().device(device));  // the allocator exists once a tensor has
  c10::cuda::CUDACachingAllocator::setMemoryFraction(fraction, device.index());
#else
  (void)device, (void)asked;
#endif
}

}  // namespace

DeviceMemoryCap::DeviceMemoryCap(const torch::Device& device, std::int64_t limit_bytes, std::int64_t estimate_bytes,
                                 const std::string& what)
    : device_(device), limit_bytes_(limit_bytes) {
  if (!device.is_cuda()) return;
  const std::int64_t total = device_total_memory(device);
  const std::int64_t usable = limit_bytes > 0 ? std::min(limit_bytes, total) : total;
  if (estimate_bytes > usable)
    throw std::runtime_error(what + " needs about " + model::format_bytes(estimate_bytes) + " but " + device.str() +
                             " has " + model::format_bytes(total) +
                             (limit_bytes > 0 && limit_bytes < total ? " and the limit is " + model::format_bytes(limit_bytes)
                                                                     : std::string()) +
                             ": use more stages or a smaller micro-batch");
  std::lock_guard lock(limits_mutex);
  auto& asked = limits[device.index()];
  if (limit_bytes > 0) asked.limited_bytes += limit_bytes; else ++asked.unlimited;
  apply_cap(device, asked);
  active_ = true;
}

DeviceMemoryCap::~DeviceMemoryCap() {
  if (!active_) return;
  std::lock_guard lock(limits_mutex);
  auto& asked = limits[device_.index()];
  if (limit_bytes_ > 0) asked.limited_bytes -= limit_bytes_; else --asked.unlimited;
  try {
    apply_cap(device_, asked);
  } catch (...) {  // a destructor must not throw; the cap stays as it was
  }
}

AutocastScope::AutocastScope(bool enabled) : enabled_(enabled) {
#if TESSERA_BACKEND_CUDA
  if (!enabled_) return;
  was_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::increment_nesting();
#endif
}

AutocastScope::~AutocastScope() {
#if TESSERA_BACKEND_CUDA
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(at::kCUDA, was_enabled_);
#endif
}

}  // namespace tessera::engine

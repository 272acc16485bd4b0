// CUDA driver API through dlopen: cuInit, cuDeviceGet*, the stable C entry points.
#include "core/sys/cuda_driver.h"

#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#define TESSERA_HAVE_DLOPEN 1
#endif

namespace tessera::sys {

#ifdef TESSERA_HAVE_DLOPEN
namespace {

using CuResult = int;
using CuDevice = int;
constexpr int kAttributeComputeMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttributeComputeMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

template <typename Function>
Function load(void* library, const char* name) {
  return reinterpret_cast<Function>(dlsym(library, name));
}

}  // namespace

CudaDriverProbe probe_cuda_driver() {
  CudaDriverProbe probe;
  void* library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    probe.error = "no NVIDIA driver (libcuda.so.1 not found)";
    return probe;
  }
  const auto cu_init = load<CuResult (*)(unsigned)>(library, "cuInit");
  const auto cu_driver_version = load<CuResult (*)(int*)>(library, "cuDriverGetVersion");
  const auto cu_count = load<CuResult (*)(int*)>(library, "cuDeviceGetCount");
  const auto cu_get = load<CuResult (*)(CuDevice*, int)>(library, "cuDeviceGet");
  const auto cu_name = load<CuResult (*)(char*, int, CuDevice)>(library, "cuDeviceGetName");
  const auto cu_memory = load<CuResult (*)(size_t*, CuDevice)>(library, "cuDeviceTotalMem_v2");
  const auto cu_attribute = load<CuResult (*)(int*, int, CuDevice)>(library, "cuDeviceGetAttribute");
  if (!cu_init || !cu_driver_version || !cu_count || !cu_get || !cu_name || !cu_memory || !cu_attribute) {
    probe.error = "the NVIDIA driver library lacks the CUDA entry points (driver too old?)";
    return probe;  // the library stays loaded: unloading a GPU driver mid-process is not safe
  }
  if (const CuResult result = cu_init(0); result != 0) {
    probe.error = "the NVIDIA driver failed to initialise (cuInit error " + std::to_string(result) + ")";
    return probe;
  }
  probe.driver_loaded = true;
  cu_driver_version(&probe.driver_version);
  int count = 0;
  if (cu_count(&count) != 0) count = 0;
  for (int index = 0; index < count; ++index) {
    CuDevice device = 0;
    if (cu_get(&device, index) != 0) continue;
    GpuInfo gpu;
    gpu.index = index;
    char name[256] = {};
    if (cu_name(name, sizeof name - 1, device) == 0) gpu.name = name;
    size_t bytes = 0;
    if (cu_memory(&bytes, device) == 0) gpu.memory_bytes = bytes;
    cu_attribute(&gpu.compute_major, kAttributeComputeMajor, device);
    cu_attribute(&gpu.compute_minor, kAttributeComputeMinor, device);
    probe.gpus.push_back(gpu);
  }
  return probe;
}
#else
CudaDriverProbe probe_cuda_driver() {
  CudaDriverProbe probe;
  probe.error = "GPU discovery through the CUDA driver is only wired up on Linux here";
  return probe;
}
#endif

}  // namespace tessera::sys

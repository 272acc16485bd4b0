// NVIDIA GPUs as the CUDA driver sees them, loaded at run time (libcuda), so the build and a
// machine without a GPU need nothing from NVIDIA.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::sys {

struct GpuInfo {
  int index = 0;  // the CUDA device ordinal, as libtorch numbers devices
  std::string name;
  std::uint64_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

struct CudaDriverProbe {
  bool driver_loaded = false;  // libcuda was found and initialised
  int driver_version = 0;      // e.g. 12040 for CUDA 12.4
  std::vector<GpuInfo> gpus;
  std::string error;  // why the driver could not be used, when it could not
};

CudaDriverProbe probe_cuda_driver();

}  // namespace tessera::sys

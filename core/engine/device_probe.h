// What libtorch can run on here: its version, CUDA devices, and a measured matmul rate.
// Plain structs only; libtorch stays inside device_probe.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::engine {

struct TorchInfo {
  std::string version;         // e.g. "1.13.1"
  bool cuda_built = false;      // this libtorch was compiled with CUDA
  bool cuda_available = false;  // ... and sees at least one device
  int cuda_device_count = 0;
  int intra_op_threads = 0;
};

TorchInfo probe_torch();

// Sets libtorch's CPU intra-op thread count for this process (n >= 1), and the BLAS's own
// thread pool to the same count: OpenBLAS (what Debian's libtorch calls for matrix products)
// keeps one thread per core that at::set_num_threads does not reach and that spins between
// calls, so without this "one thread" meant one torch thread plus a BLAS pool per process.
void set_torch_threads(int n);

// The BLAS thread pool alone (OpenBLAS, looked up at run time): its size, 0 when the loaded BLAS
// does not say; setting it returns false when the BLAS has no such control.
int blas_threads();
bool set_blas_threads(int n);

// Parses "cpu", "cuda" or "cuda:N". Throws std::invalid_argument with a usable message for
// anything else, and std::runtime_error when CUDA is asked for but not available.
struct DeviceChoice {
  bool cuda = false;
  int index = 0;
  std::string label() const;  // "cpu" or "cuda:N"
};
DeviceChoice parse_device(const std::string& text, const TorchInfo& info);
// "cuda:0" when a CUDA device is visible, else "cpu".
DeviceChoice default_device(const TorchInfo& info);

struct MatmulRate {
  double gflops = 0.0;  // achieved fp32 GFLOP/s
  int size = 0;         // n of the n×n matrices
  int iterations = 0;
  double seconds = 0.0;
};

// Multiplies n×n fp32 matrices on the device for about `seconds` (after a warm-up) and
// reports the achieved rate: 2n³ FLOPs per product.
MatmulRate measure_matmul(const DeviceChoice& device, double seconds, int size = 1024);

}  // namespace tessera::engine

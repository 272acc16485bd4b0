// What the loaded backend's libtorch can run on here: its version, CUDA devices, a measured matmul
// rate and the boundary codecs' rate on the device. Plain structs only: each call goes to the
// backend (backend.h), loaded on first use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/codec.h"

namespace tessera::engine {

struct TorchInfo {
  std::string version;         // e.g. "1.13.1"
  bool cuda_built = false;      // this libtorch was compiled with CUDA
  bool cuda_available = false;  // ... and sees at least one device
  int cuda_device_count = 0;
  int intra_op_threads = 0;
  std::string backend;          // the loaded backend: "cpu" or "cuda"
  bool bf16_matmul = false;     // the default device multiplies bf16 at full speed (CUDA, compute ≥ 8.0)
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

enum class MatmulPrecision : std::uint8_t { fp32, bf16 };

struct MatmulRate {
  double gflops = 0.0;  // achieved GFLOP/s in the precision asked for
  int size = 0;         // n of the n×n matrices
  int iterations = 0;
  double seconds = 0.0;
};

// Multiplies n×n matrices (fp32, or bf16 with fp32 accumulation) on the device for about `seconds`
// (after a warm-up) and reports the achieved rate: 2n³ FLOPs per product. bf16 is refused on the CPU.
MatmulRate measure_matmul(const DeviceChoice& device, double seconds, int size = 1024,
                          MatmulPrecision precision = MatmulPrecision::fp32);

// One boundary codec's speed on the device: encoding a device tensor of float32 values down to the
// payload bytes in host memory, and decoding payload bytes back into a device tensor. GB/s count
// the float32 bytes of the tensor (4 per value), the same measure on the CPU and on CUDA.
struct CodecRate {
  double encode_gb_per_s = 0.0;
  double decode_gb_per_s = 0.0;
  std::int64_t values = 0;  // float32 values per call
  int iterations = 0;
};
CodecRate measure_codec(const DeviceChoice& device, model::CodecKind codec, const std::vector<std::int64_t>& shape,
                        double seconds);

}  // namespace tessera::engine

// libtorch device discovery, CPU threads and the doctor's matmul measurement (torch_probe.h).
#include "core/backend/torch_probe.h"

#include <chrono>
#include <stdexcept>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#endif

#include "core/backend/torch_pch.h"

#include "core/backend/device.h"

namespace tessera::engine {

TorchInfo torch_probe() {
  TorchInfo info;
  info.version = TORCH_VERSION;
  info.intra_op_threads = at::get_num_threads();
  info.cuda_built = at::show_config().find("USE_CUDA=ON") != std::string::npos;
  info.cuda_available = torch::cuda::is_available();
  info.cuda_device_count = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  info.backend = TESSERA_BACKEND_NAME;
  info.bf16_matmul = info.cuda_available && device_has_fast_bf16(0);
  return info;
}

namespace {

// OpenBLAS's C entry points, when the BLAS libtorch loaded is OpenBLAS (null otherwise). This
// library and its libtorch are loaded RTLD_LOCAL, outside the global scope: look in the BLAS
// libraries already loaded by name first.
template <typename Function>
Function openblas_function(const char* name) {
#if defined(__unix__) || defined(__APPLE__)
  for (const char* library : {"libblas.so.3", "libopenblas.so.0"}) {
    if (void* handle = dlopen(library, RTLD_LAZY | RTLD_NOLOAD)) {
      const auto function = reinterpret_cast<Function>(dlsym(handle, name));
      dlclose(handle);  // RTLD_NOLOAD took a reference; the library stays loaded by libtorch's
      if (function) return function;
    }
  }
  return reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, name));
#else
  (void)name;
  return nullptr;
#endif
}

}  // namespace

int torch_blas_threads() {
  static const auto get = openblas_function<int (*)()>("openblas_get_num_threads");
  return get ? get() : 0;
}

bool torch_set_blas_threads(int n) {
  if (n < 1) throw std::invalid_argument("thread count must be at least 1, got " + std::to_string(n));
  static const auto set = openblas_function<void (*)(int)>("openblas_set_num_threads");
  if (!set) return false;
  set(n);
  return true;
}

void torch_set_threads(int n) {
  if (n < 1) throw std::invalid_argument("thread count must be at least 1, got " + std::to_string(n));
  at::set_num_threads(n);
  torch_set_blas_threads(n);
}

MatmulRate torch_measure_matmul(const DeviceChoice& choice, double seconds, int size, MatmulPrecision precision) {
  torch::NoGradGuard no_grad;
  const torch::Device device = torch_device(choice);
  if (precision == MatmulPrecision::bf16 && !choice.cuda)
    throw std::invalid_argument("the bf16 matmul rate is measured on a CUDA device only");
  const auto options = torch::TensorOptions()
                           .dtype(precision == MatmulPrecision::bf16 ? torch::kBFloat16 : torch::kFloat32)
                           .device(device);
  const auto a = torch::randn({size, size}, options);
  const auto b = torch::randn({size, size}, options);
  auto c = torch::empty({size, size}, options);
  const auto sync = [&] { synchronize(device); };
  // Warm-up: first calls pay for thread-pool start and kernel selection.
  for (int i = 0; i < 2; ++i) torch::mm_out(c, a, b);
  sync();

  using clock = std::chrono::steady_clock;
  MatmulRate rate;
  rate.size = size;
  const auto start = clock::now();
  double elapsed = 0.0;
  do {
    torch::mm_out(c, a, b);
    ++rate.iterations;
    if (choice.cuda && rate.iterations % 16 != 0) continue;  // keep the GPU queue full
    sync();
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  sync();
  rate.seconds = std::chrono::duration<double>(clock::now() - start).count();
  const double flops = 2.0 * size * static_cast<double>(size) * size * rate.iterations;
  rate.gflops = flops / rate.seconds / 1e9;
  return rate;
}

}  // namespace tessera::engine

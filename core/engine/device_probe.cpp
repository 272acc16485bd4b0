// libtorch device discovery and the doctor's matmul measurement.
#include "core/engine/device_probe.h"

#include <chrono>
#include <stdexcept>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#endif

#include "core/engine/torch_pch.h"

namespace tessera::engine {

std::string DeviceChoice::label() const { return cuda ? "cuda:" + std::to_string(index) : "cpu"; }

TorchInfo probe_torch() {
  TorchInfo info;
  info.version = TORCH_VERSION;
  info.intra_op_threads = at::get_num_threads();
  info.cuda_built = at::show_config().find("USE_CUDA=ON") != std::string::npos;
  info.cuda_available = torch::cuda::is_available();
  info.cuda_device_count = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  return info;
}

namespace {

// OpenBLAS's C entry points, when the BLAS libtorch loaded is OpenBLAS (null otherwise).
template <typename Function>
Function openblas_function(const char* name) {
#if defined(__unix__) || defined(__APPLE__)
  return reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, name));
#else
  (void)name;
  return nullptr;
#endif
}

}  // namespace

int blas_threads() {
  static const auto get = openblas_function<int (*)()>("openblas_get_num_threads");
  return get ? get() : 0;
}

bool set_blas_threads(int n) {
  if (n < 1) throw std::invalid_argument("thread count must be at least 1, got " + std::to_string(n));
  static const auto set = openblas_function<void (*)(int)>("openblas_set_num_threads");
  if (!set) return false;
  set(n);
  return true;
}

void set_torch_threads(int n) {
  if (n < 1) throw std::invalid_argument("thread count must be at least 1, got " + std::to_string(n));
  at::set_num_threads(n);
  set_blas_threads(n);
}

DeviceChoice parse_device(const std::string& text, const TorchInfo& info) {
  DeviceChoice choice;
  if (text == "cpu") return choice;
  if (text.rfind("cuda", 0) != 0)
    throw std::invalid_argument("unknown device '" + text + "': use cpu, cuda or cuda:N");
  choice.cuda = true;
  if (text.size() > 4) {
    if (text[4] != ':' || text.size() == 5)
      throw std::invalid_argument("unknown device '" + text + "': use cpu, cuda or cuda:N");
    try {
      size_t used = 0;
      choice.index = std::stoi(text.substr(5), &used);
      if (used != text.size() - 5 || choice.index < 0) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      throw std::invalid_argument("unknown device '" + text + "': use cpu, cuda or cuda:N");
    }
  }
  if (!info.cuda_available)
    throw std::runtime_error("CUDA was asked for (" + text + ") but this libtorch sees no CUDA device");
  if (choice.index >= info.cuda_device_count)
    throw std::runtime_error("no CUDA device " + std::to_string(choice.index) + ": libtorch sees " +
                             std::to_string(info.cuda_device_count));
  return choice;
}

DeviceChoice default_device(const TorchInfo& info) {
  DeviceChoice choice;
  choice.cuda = info.cuda_available && info.cuda_device_count > 0;
  return choice;
}

MatmulRate measure_matmul(const DeviceChoice& choice, double seconds, int size) {
  torch::NoGradGuard no_grad;
  const torch::Device device = choice.cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(choice.index))
                                           : torch::Device(torch::kCPU);
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const auto a = torch::randn({size, size}, options);
  const auto b = torch::randn({size, size}, options);
  auto c = torch::empty({size, size}, options);
  const auto sync = [&] {
    if (choice.cuda) torch::cuda::synchronize(choice.index);
  };
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

// The doctor's facts, verdict and both renderings (text for people, JSON for scripts).
#include "core/node/doctor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/engine/backend_loader.h"
#include "core/engine/device_probe.h"
#include "core/model/model_config.h"
#include "core/model/flops.h"
#include "core/protocol/work_units.h"
#include "core/sys/host.h"

namespace tessera::node {
namespace {

constexpr std::uint64_t kGiB = 1024ull * 1024 * 1024;
constexpr std::uint64_t kMinRamBytes = 2 * kGiB;
constexpr std::uint64_t kMinDiskBytes = 1 * kGiB;
// Share of the measured matmul rate a small transformer's training step reaches; the engine
// benchmark measures the real figure (model-FLOPs utilisation).
constexpr double kExpectedUtilisation = 0.3;

std::string gib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / kGiB);
  return text;
}

std::string rounded(double value) {
  const double magnitude = std::pow(10.0, std::max(0.0, std::floor(std::log10(std::max(value, 1.0))) - 1));
  std::ostringstream out;
  out << static_cast<long long>(std::llround(value / magnitude) * magnitude);
  return out.str();
}

}  // namespace

DoctorReport run_doctor(const DoctorOptions& options) {
  DoctorReport report;
  report.os = sys::os_description();
  const auto cpu = sys::cpu_info();
  report.cpu_model = cpu.model;
  report.cpu_threads = cpu.threads;
  report.ram_bytes = sys::total_ram_bytes();
  report.data_dir = options.data_dir;
  report.disk_free_bytes = sys::disk_free_bytes(options.data_dir);

  const auto torch_info = engine::probe_torch();
  const auto& backend = engine::backend_choice();
  report.backend = backend.name;
  report.backend_why = backend.why;
  report.backends = backend.available;
  report.torch_version = torch_info.version;
  report.torch_cuda_built = torch_info.cuda_built;
  report.cuda = torch_info.cuda_available;
  const auto driver = sys::probe_cuda_driver();
  report.devices = driver.gpus;
  report.cuda_driver_note = driver.error;

  const auto device = options.device == "auto" ? engine::default_device(torch_info)
                                               : engine::parse_device(options.device, torch_info);
  report.device = device.label();
  const auto rate = engine::measure_matmul(device, options.matmul_seconds, options.matmul_size);
  report.matmul_gflops = rate.gflops;
  report.matmul_size = rate.size;
  if (device.cuda && torch_info.bf16_matmul) {
    // Tensor cores need large products to reach their rate: the size the engine benchmark's
    // width-2048 model multiplies at.
    const auto bf16 = engine::measure_matmul(device, options.matmul_seconds, std::max(options.matmul_size, 4096),
                                             engine::MatmulPrecision::bf16);
    report.bf16_gflops = bf16.gflops;
    report.bf16_size = bf16.size;
  }

  // The BLAS is known once libtorch has run a product (it is loaded by then in any case).
  const auto blas = sys::loaded_blas();
  report.blas = blas.name;
  report.blas_path = blas.path;
  report.blas_reference = blas.reference;

  judge(report);
  return report;
}

double demo_training_flops_per_token() {
  const auto config = model::demo_model_config();
  const model::StageShape whole{model::non_embedding_parameters(config), config.layers, config.width, config.context};
  return model::training_flops_per_token(whole);
}

void judge(DoctorReport& report) {
  report.demo_tokens_per_s = report.matmul_gflops * 1e9 * kExpectedUtilisation / demo_training_flops_per_token();

  std::vector<std::string> problems;
  if (report.ram_bytes != 0 && report.ram_bytes < kMinRamBytes)
    problems.push_back("only " + gib(report.ram_bytes) + " of memory; Tessera needs at least " + gib(kMinRamBytes));
  if (report.disk_free_bytes < kMinDiskBytes)
    problems.push_back("only " + gib(report.disk_free_bytes) + " free in " + report.data_dir.string() +
                       "; free at least " + gib(kMinDiskBytes) + " or pass --data-dir");
  if (report.blas_reference && report.device == "cpu")
    problems.push_back("libtorch is using the reference BLAS, about 7x slower: install libopenblas0-pthread");
  if (!(report.matmul_gflops > 0.0))
    problems.push_back("the matmul test measured no throughput on " + report.device);

  report.ready = problems.empty();
  if (!report.ready) {
    report.verdict = "not ready: " + problems.front();
    for (size_t i = 1; i < problems.size(); ++i) report.verdict += "; " + problems[i];
    return;
  }
  const std::string estimate = "expect about " + rounded(report.demo_tokens_per_s) + " tokens/s on the demo model";
  if (report.device != "cpu") {
    std::string name = report.device;
    for (const auto& gpu : report.devices)
      if ("cuda:" + std::to_string(gpu.index) == report.device) name = gpu.name + " (" + report.device + ")";
    report.verdict = "ready: CUDA on " + name + ", " + estimate;
  } else if (!report.devices.empty() && !report.torch_cuda_built) {
    report.verdict = "ready: CPU only (an NVIDIA GPU is present, but the CUDA backend is not in use: " +
                     (report.backend_why.empty() ? std::string("install tessera-cuda") : report.backend_why) + "), " +
                     estimate;
  } else {
    report.verdict = "ready: CPU only, " + estimate;
  }
}

nlohmann::json to_json(const DoctorReport& report) {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& gpu : report.devices)
    devices.push_back({{"index", gpu.index},
                       {"name", gpu.name},
                       {"memory_bytes", gpu.memory_bytes},
                       {"compute_capability", std::to_string(gpu.compute_major) + "." + std::to_string(gpu.compute_minor)}});
  return {{"os", report.os},
          {"cpu", {{"model", report.cpu_model}, {"threads", report.cpu_threads}}},
          {"ram_bytes", report.ram_bytes},
          {"data_dir", report.data_dir.string()},
          {"disk_free_bytes", report.disk_free_bytes},
          {"torch_version", report.torch_version},
          {"torch_cuda_built", report.torch_cuda_built},
          {"cuda", report.cuda},
          {"devices", devices},
          {"blas", report.blas},
          {"blas_path", report.blas_path},
          {"device", report.device},
          {"matmul_size", report.matmul_size},
          {"matmul_gflops", report.matmul_gflops},
          {"demo_tokens_per_s", report.demo_tokens_per_s},
          {"ready", report.ready},
          {"verdict", report.verdict},
          {"backend", report.backend},
          {"backend_why", report.backend_why},
          {"backends", report.backends},
          {"bf16_matmul_size", report.bf16_size},
          {"bf16_matmul_gflops", report.bf16_gflops}};
}

std::string to_text(const DoctorReport& report) {
  std::ostringstream out;
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f GFLOP/s", report.matmul_gflops);
  out << "OS            " << report.os << "\n"
      << "CPU           " << report.cpu_model << ", " << report.cpu_threads << " threads\n"
      << "Memory        " << gib(report.ram_bytes) << "\n"
      << "Data folder   " << report.data_dir.string() << " (" << gib(report.disk_free_bytes) << " free)\n"
      << "Backend       " << report.backend << " (" << report.backend_why << ")\n"
      << "libtorch      " << report.torch_version << (report.torch_cuda_built ? " with CUDA" : " (CPU build)") << "\n";
  if (report.devices.empty()) {
    out << "GPUs          none" << (report.cuda_driver_note.empty() ? "" : " (" + report.cuda_driver_note + ")") << "\n";
  } else {
    for (const auto& gpu : report.devices)
      out << "GPU " << gpu.index << "         " << gpu.name << ", " << gib(gpu.memory_bytes) << ", compute "
          << gpu.compute_major << "." << gpu.compute_minor << "\n";
  }
  out << "BLAS          " << report.blas << (report.blas_path.empty() ? "" : " (" + report.blas_path + ")") << "\n"
      << "Matmul        " << rate << " fp32 on " << report.device << " (" << report.matmul_size << "x"
      << report.matmul_size << ")\n";
  if (report.bf16_gflops > 0) {
    std::snprintf(rate, sizeof rate, "%.1f GFLOP/s", report.bf16_gflops);
    out << "Matmul        " << rate << " bf16 on " << report.device << " (" << report.bf16_size << "x"
        << report.bf16_size << ")\n";
  }
  out << "\n" << report.verdict << "\n";
  return out.str();
}

}  // namespace tessera::node

// `tessera-node doctor`: the pre-flight check a contributor runs first. Gathers host, libtorch,
// GPU and BLAS facts, measures a matmul rate, and turns them into a one-line verdict.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/sys/cuda_driver.h"

namespace tessera::node {

struct DoctorOptions {
  std::filesystem::path data_dir;
  std::string device = "auto";  // "auto", "cpu", "cuda", "cuda:N"
  double matmul_seconds = 1.5;
  int matmul_size = 1024;
};

struct DoctorReport {
  std::string os;
  std::string cpu_model;
  unsigned cpu_threads = 0;
  std::uint64_t ram_bytes = 0;
  std::filesystem::path data_dir;
  std::uint64_t disk_free_bytes = 0;
  std::string torch_version;
  bool torch_cuda_built = false;
  bool cuda = false;  // libtorch can use a CUDA device here
  std::string cuda_driver_note;  // why no GPU is visible to the driver, when none is
  std::vector<sys::GpuInfo> devices;
  std::string blas;
  std::string blas_path;
  bool blas_reference = false;
  std::string device;  // the device measured on, "cpu" or "cuda:N"
  double matmul_gflops = 0.0;
  int matmul_size = 0;
  double demo_tokens_per_s = 0.0;
  bool ready = false;
  std::string verdict;
  std::string backend;      // the engine backend loaded: "cpu" or "cuda"
  std::string backend_why;  // why that one (engine::BackendChoice::why)
  std::vector<std::string> backends;  // the backends installed
  double bf16_gflops = 0.0;  // CUDA only: bf16 matmul rate (fp32 accumulation), 0 when not measured
  int bf16_size = 0;
};

// Everything doctor measures, then the verdict. Throws std::invalid_argument / runtime_error for
// an unusable --device.
DoctorReport run_doctor(const DoctorOptions& options);

// The demo model's (model::demo_model_config) training FLOPs per token: what demo_tokens_per_s is
// a rate of. The fit of a run (run_fit.h) scales that rate by the ratio of FLOPs per token.
double demo_training_flops_per_token();

// Fills `ready`, `demo_tokens_per_s` and `verdict` from the facts (pure; tested on its own).
void judge(DoctorReport& report);

nlohmann::json to_json(const DoctorReport& report);
std::string to_text(const DoctorReport& report);

}  // namespace tessera::node

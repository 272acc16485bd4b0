// The engine's device benchmark, shared by `tessera-node bench engine` and the device check
// (tests/gpu/engine_check.cpp): training tokens/s of one model on one device, in the precision the
// device trains in, as a share of the measured matmul rate of that precision (model-FLOPs
// utilisation: bf16 on CUDA, fp32 on the CPU); the in-process pipeline against the single process;
// and each boundary codec's encode and decode rate on the device.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/engine/device_probe.h"
#include "core/model/model_config.h"

namespace tessera::engine {

struct DeviceBenchOptions {
  DeviceChoice device;
  model::ModelConfig config;  // default: width 2048 (the MFU model), 4 layers, context 512
  int micro_batch = 8;
  int micro_batches = 2;
  int steps = 4;           // timed steps after one warm-up
  double matmul_seconds = 1.0;
  int matmul_size = 4096;
  std::vector<int> stages = {2, 4};  // pipelines timed against the single process
  double codec_seconds = 0.4;        // per codec, encode and decode together
  DeviceBenchOptions();
};

struct DeviceBenchResult {
  std::string precision;            // "bf16" on CUDA, "fp32" on the CPU
  double matmul_gflops = 0.0;       // in that precision
  double tokens_per_s = 0.0;        // single process
  double achieved_gflops = 0.0;
  double mfu = 0.0;                 // achieved / matmul rate
  std::map<int, double> pipeline_ratio;  // stages -> pipeline tokens/s / single tokens/s
  std::map<std::string, CodecRate> codecs;
};

DeviceBenchResult run_device_bench(const DeviceBenchOptions& options);

}  // namespace tessera::engine

// tessera-engine-check: the engine on whatever backend and device this machine has, with nothing but
// the engine and libtorch (no Qt, no JSON library: scripts/device-check builds it on a GPU machine
// that has only CUDA, CMake and PyTorch). Prints JSON.
//   tessera-engine-check losses [--steps N] [--device D] [--precision P]   per-step training losses
//   tessera-engine-check gpu                  the gpu checks (gpu_checks.cpp); exit 1 if one fails
//   tessera-engine-check bench [--device D] [--small]    the device benchmark (device_bench.h)
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "core/engine/backend_loader.h"
#include "core/engine/device_bench.h"
#include "core/engine/reference_trainer.h"
#include "core/model/data.h"
#include "tests/gpu/gpu_checks.h"

namespace tessera::engine {
namespace {

struct Args {
  std::string command;
  int steps = 20;
  std::string device = "auto";
  std::string precision = "auto";
  bool small = false;
};

Args parse(int argc, char** argv) {
  Args args;
  if (argc < 2) throw std::invalid_argument("usage: tessera-engine-check losses|gpu|bench [options]");
  args.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--steps") args.steps = std::stoi(value());
    else if (flag == "--device") args.device = value();
    else if (flag == "--precision") args.precision = value();
    else if (flag == "--small") args.small = true;
    else throw std::invalid_argument("unknown option " + flag);
  }
  return args;
}

DeviceChoice device_of(const std::string& text) {
  const auto info = probe_torch();
  return text == "auto" ? default_device(info) : parse_device(text, info);
}

// The reference model trained from its seed: the same losses from any correct backend.
int losses(const Args& args) {
  TrainerOptions options;
  options.model.layers = 2;
  options.model.width = 64;
  options.model.heads = 4;
  options.model.context = 32;
  options.train.micro_batch_size = 4;
  options.train.micro_batches = 2;
  options.train.total_steps = args.steps;
  options.device = device_of(args.device).label();
  options.precision = parse_precision(args.precision);
  SingleProcessTrainer trainer(options);
  const auto data = model::DataSource::arithmetic(options.model.context, options.model.seed);
  std::printf("{\"backend\": \"%s\", \"device\": \"%s\", \"losses\": [", backend_choice().name.c_str(),
              options.device.c_str());
  for (int step = 0; step < args.steps; ++step) {
    std::vector<std::vector<std::int32_t>> micro;
    for (int m = 0; m < options.train.micro_batches; ++m)
      micro.push_back(data.micro_batch(step, m, options.train.micro_batches, options.train.micro_batch_size));
    std::printf("%s%.9g", step ? ", " : "", trainer.train_step(micro, options.train.micro_batch_size).at("loss"));
  }
  std::printf("]}\n");
  return 0;
}

int bench(const Args& args) {
  DeviceBenchOptions options;
  options.device = device_of(args.device);
  if (args.small) {  // a CPU-sized run: the program's own check in CI
    options.config.width = 128, options.config.heads = 4, options.config.context = 64, options.config.layers = 4;
    options.micro_batch = 2, options.steps = 2, options.matmul_seconds = 0.2, options.matmul_size = 512;
    options.codec_seconds = 0.1;
  }
  const auto r = run_device_bench(options);
  const auto info = probe_torch();
  std::printf("{\"backend\": \"%s\", \"torch_version\": \"%s\", \"device\": \"%s\", \"precision\": \"%s\",\n",
              info.backend.c_str(), info.version.c_str(), options.device.label().c_str(), r.precision.c_str());
  std::printf(" \"model\": {\"layers\": %d, \"width\": %d, \"heads\": %d, \"context\": %d, \"micro_batch\": %d},\n",
              options.config.layers, options.config.width, options.config.heads, options.config.context,
              options.micro_batch);
  std::printf(" \"matmul_gflops_%s\": %.1f, \"tokens_per_s\": %.1f, \"achieved_gflops\": %.1f, \"mfu_%s\": %.4f",
              r.precision.c_str(), r.matmul_gflops, r.tokens_per_s, r.achieved_gflops, r.precision.c_str(), r.mfu);
  for (const auto& [stages, ratio] : r.pipeline_ratio) std::printf(",\n \"pipeline_ratio_%d\": %.4f", stages, ratio);
  std::printf(",\n \"codecs\": {");
  bool first = true;
  for (const auto& [name, rate] : r.codecs) {
    std::printf("%s\"%s\": {\"encode_gb_per_s\": %.3f, \"decode_gb_per_s\": %.3f}", first ? "" : ", ", name.c_str(),
                rate.encode_gb_per_s, rate.decode_gb_per_s);
    first = false;
  }
  std::printf("}}\n");
  return 0;
}

}  // namespace
}  // namespace tessera::engine

int main(int argc, char** argv) {
  using namespace tessera::engine;
  try {
    const auto args = parse(argc, argv);
    if (args.command == "losses") return losses(args);
    if (args.command == "bench") return bench(args);
    if (args.command == "gpu") return run_gpu_checks();
    throw std::invalid_argument("unknown command '" + args.command + "': losses, gpu or bench");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tessera-engine-check: %s\n", error.what());
    return 2;
  }
}

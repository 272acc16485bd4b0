// The gpu checks (gpu_checks.h). Tolerances are stated where they are checked.
#include "tests/gpu/gpu_checks.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/engine/backend_loader.h"
#include "core/engine/reference_trainer.h"
#include "core/engine/stage.h"
#include "core/model/data.h"
#include "core/model/model_config.h"

namespace tessera::engine {
namespace {

struct Outcome {
  bool passed = false;
  std::string detail;
};

TrainerOptions small_trainer(const std::string& device, Precision precision, int width, int steps) {
  TrainerOptions options;
  options.model.layers = 2;
  options.model.width = width;
  options.model.heads = 4;
  options.model.context = 64;
  options.train.micro_batch_size = 8;
  options.train.micro_batches = 1;
  options.train.total_steps = steps;
  options.device = device;
  options.precision = precision;
  return options;
}

std::vector<double> train_losses(const TrainerOptions& options, int steps) {
  SingleProcessTrainer trainer(options);
  const auto data = model::DataSource::arithmetic(options.model.context, options.model.seed);
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step)
    losses.push_back(trainer.train_step({data.micro_batch(step, 0, 1, options.train.micro_batch_size)},
                                        options.train.micro_batch_size)
                         .at("loss"));
  return losses;
}

// CUDA in fp32 (TF32 off) follows the CPU: per-step losses within 1e-3 relative over 5 steps.
Outcome cuda_fp32_equals_cpu() {
  const auto cpu = train_losses(small_trainer("cpu", Precision::fp32, 128, 5), 5);
  const auto cuda = train_losses(small_trainer("cuda:0", Precision::fp32, 128, 5), 5);
  double worst = 0.0;
  for (std::size_t i = 0; i < cpu.size(); ++i) worst = std::max(worst, std::abs(cuda[i] - cpu[i]) / cpu[i]);
  return {worst <= 1e-3, "worst relative loss difference " + std::to_string(worst) + " (tolerance 1e-3)"};
}

// bf16 autocast trains: after 150 steps the held-out loss has fallen and is within 1 % of fp32's.
Outcome bf16_tracks_fp32() {
  constexpr int steps = 150;
  const auto eval_loss = [&](Precision precision, double* first) {
    const auto options = small_trainer("cuda:0", precision, 256, steps);
    SingleProcessTrainer trainer(options);
    const auto data = model::DataSource::arithmetic(options.model.context, options.model.seed);
    for (int step = 0; step < steps; ++step) {
      const double loss = trainer.train_step({data.micro_batch(step, 0, 1, options.train.micro_batch_size)},
                                             options.train.micro_batch_size)
                              .at("loss");
      if (step == 0 && first) *first = loss;
    }
    const auto eval = model::arithmetic_eval_set(options.model.context, options.model.seed, 256);
    return trainer.evaluate(eval.tokens, eval.batch).loss;
  };
  double first = 0.0;
  const double bf16 = eval_loss(Precision::bf16, &first);
  const double fp32 = eval_loss(Precision::fp32, nullptr);
  const double gap = std::abs(bf16 - fp32) / fp32;
  return {bf16 < first && gap <= 0.01, "bf16 held-out loss " + std::to_string(bf16) + " (first step " +
                                           std::to_string(first) + "), fp32 " + std::to_string(fp32) +
                                           ", gap " + std::to_string(100 * gap) + " % (at most 1 %)"};
}

// The device codecs give the host codecs' bytes and values, for every codec and rounding.
Outcome device_codecs_match_cpu() {
  DeviceChoice cuda;
  cuda.cuda = true;
  std::mt19937 random(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> values(4 * 64 * 128);
  for (auto& v : values) v = normal(random);
  // Row 0: largest value 127, so the scale is 1 and levels k + 0.5 are exact ties (half-even and
  // the host's half-away-from-zero differ there); then fp16 subnormals and its largest value.
  for (int i = 0; i < 128; ++i) values[static_cast<std::size_t>(i)] = (i % 2 ? -1.0f : 1.0f) * (0.5f + i % 9);
  values[0] = 127.0f;
  values[128] = 6e-6f, values[129] = -3e-8f, values[130] = 65504.0f;
  const auto tensor = model::HostTensor::from_floats({4, 64, 128}, values);
  int compared = 0;
  for (auto codec : model::all_codecs())
    for (auto rounding : {model::Rounding::nearest, model::Rounding::stochastic}) {
      const auto host = model::encode(codec, tensor, rounding);
      const auto device = backend().device_encode(cuda, codec, tensor, rounding);
      if (device.bytes != host.bytes)
        return {false, model::codec_name(codec) + " encodes other bytes on the device than on the host"};
      const auto decoded = backend().device_decode(cuda, host, codec, tensor.shape);
      if (decoded.bytes != model::decode(host, codec, tensor.shape).bytes)
        return {false, model::codec_name(codec) + " decodes other values on the device than on the host"};
      ++compared;
    }
  return {true, std::to_string(compared) + " codec and rounding pairs: identical bytes and values"};
}

// Run first, in a fresh process: a stage with a memory limit between its estimate and the device's
// memory trains (the allocator cap is set before anything else touched CUDA); one whose estimate is
// above its limit (1 MiB) is refused; and so is a model the device cannot hold (64 layers of width
// 16384: terabytes), before anything is allocated.
Outcome memory_limit_refused() {
  StageOptions options;
  options.device = "cuda:0";
  options.model.context = 64;
  options.train.micro_batch_size = 4;
  options.train.micro_batches = 1;
  {
    const auto estimate = model::estimate_stage_memory(options.model, model::plan_stage(options.model, 1, 0),
                                                       options.train.micro_batch_size, 1);
    options.memory_limit_bytes = 4 * estimate.total();
    Stage stage(options);
    const auto data = model::DataSource::arithmetic(options.model.context, options.model.seed);
    ForwardMessage message;
    message.batch = 4;
    message.sequence = options.model.context;
    message.tokens = data.micro_batch(0, 0, 1, 4);
    stage.forward(message);
    stage.backward(0, {});
    stage.step(std::sqrt(stage.grad_norm_squared()));
  }
  options.memory_limit_bytes = 1 << 20;
  try {
    Stage stage(options);
    return {false, "a stage accepted a 1 MiB memory limit"};
  } catch (const std::runtime_error&) {
  }
  options.memory_limit_bytes = 0;
  options.model.layers = 64, options.model.width = 16384, options.model.heads = 128, options.model.context = 128;
  try {
    Stage stage(options);
    return {false, "a stage accepted a model larger than the device"};
  } catch (const std::runtime_error& error) {
    if (std::string(error.what()).find(" has ") == std::string::npos) return {false, error.what()};
  }
  return {true, "a stage under a limit 4x its estimate trained a step; a 1 MiB limit and a model larger than the "
                "device were refused"};
}

}  // namespace

int run_gpu_checks() {
  const auto info = probe_torch();
  if (!info.cuda_available) {
    std::printf("{\"backend\": \"%s\", \"skipped\": \"no CUDA device\"}\n", info.backend.c_str());
    return 77;
  }
  const std::vector<std::pair<std::string, std::function<Outcome()>>> checks = {
      {"memory_limit_refused", memory_limit_refused},  // first: before anything else touches CUDA
      {"cuda_fp32_equals_cpu", cuda_fp32_equals_cpu},
      {"bf16_tracks_fp32", bf16_tracks_fp32},
      {"device_codecs_match_cpu", device_codecs_match_cpu}};
  bool all = true;
  std::printf("{\"backend\": \"%s\", \"torch_version\": \"%s\", \"checks\": {", info.backend.c_str(),
              info.version.c_str());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    Outcome outcome;
    try {
      outcome = checks[i].second();
    } catch (const std::exception& error) {
      outcome = {false, std::string("threw: ") + error.what()};
    }
    all = all && outcome.passed;
    std::string detail;
    for (char c : outcome.detail)  // a JSON string: no quotes, backslashes or control characters inside
      detail += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    std::printf("%s\n  \"%s\": {\"passed\": %s, \"detail\": \"%s\"}", i ? "," : "", checks[i].first.c_str(),
                outcome.passed ? "true" : "false", detail.c_str());
    std::fflush(stdout);
  }
  std::printf("\n}, \"passed\": %s}\n", all ? "true" : "false");
  return all ? 0 : 1;
}

}  // namespace tessera::engine

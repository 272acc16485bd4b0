// The engine's device benchmark (device_bench.h).
#include "core/engine/device_bench.h"

#include <chrono>
#include <memory>

#include "core/engine/pipeline.h"
#include "core/engine/reference_trainer.h"
#include "core/model/data.h"

namespace tessera::engine {

namespace {

std::vector<std::vector<std::int32_t>> batches(const model::DataSource& data, const TrainConfig& train,
                                               std::int64_t step) {
  std::vector<std::vector<std::int32_t>> out;
  for (int m = 0; m < train.micro_batches; ++m)
    out.push_back(data.micro_batch(step, m, train.micro_batches, train.micro_batch_size));
  return out;
}

// Tokens per second and FLOPs per second of `steps` calls of `step` after one warm-up.
template <typename Step>
std::pair<double, double> timed(int steps, Step&& step) {
  step(0);
  double tokens = 0.0, flops = 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= steps; ++i) {
    const auto metrics = step(i);
    tokens += metrics.at("tokens");
    if (metrics.count("flops")) flops += metrics.at("flops");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {tokens / seconds, flops / seconds};
}

}  // namespace

DeviceBenchOptions::DeviceBenchOptions() {
  config.layers = 4;
  config.width = 2048;
  config.heads = 16;
  config.context = 512;
}

DeviceBenchResult run_device_bench(const DeviceBenchOptions& o) {
  DeviceBenchResult result;
  const auto precision = o.device.cuda ? MatmulPrecision::bf16 : MatmulPrecision::fp32;
  result.precision = o.device.cuda ? "bf16" : "fp32";
  TrainConfig train;
  train.micro_batch_size = o.micro_batch;
  train.micro_batches = o.micro_batches;
  train.total_steps = o.steps + 1;
  const auto data = model::DataSource::arithmetic(o.config.context, o.config.seed);
  const std::string device = o.device.label();

  measure_matmul(o.device, 0.1, o.matmul_size, precision);  // warm-up
  result.matmul_gflops = measure_matmul(o.device, o.matmul_seconds, o.matmul_size, precision).gflops;
  double single_tokens = 0.0;
  {
    SingleProcessTrainer single({o.config, train, device, 0, Precision::automatic});
    const auto [tokens, flops] =
        timed(o.steps, [&](int step) { return single.train_step(batches(data, train, step), train.micro_batch_size); });
    single_tokens = tokens;
    result.tokens_per_s = tokens;
    result.achieved_gflops = flops / 1e9;
    result.mfu = result.matmul_gflops > 0 ? result.achieved_gflops / result.matmul_gflops : 0.0;
  }
  for (int stages : o.stages) {
    if (stages > o.config.layers) continue;
    PipelineOptions options{o.config, train, stages, CodecKind::none, device, 0, 0};
    Pipeline pipeline(options);
    const auto [tokens, flops] = timed(o.steps, [&](int step) { return pipeline.train_step(batches(data, train, step)); });
    (void)flops;
    result.pipeline_ratio[stages] = tokens / single_tokens;
  }
  const std::vector<std::int64_t> shape{o.micro_batch, o.config.context, o.config.width};
  for (auto codec : model::all_codecs())
    result.codecs[model::codec_name(codec)] = measure_codec(o.device, codec, shape, o.codec_seconds);
  return result;
}

}  // namespace tessera::engine

// `tessera-node bench engine`: single-process vs in-process pipeline throughput, model-FLOPs
// utilisation against the doctor's matmul rate, and each boundary codec's bytes and loss.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/bench_backends.h"
#include "app/cli/commands.h"
#include "core/model/data.h"
#include "core/engine/device_bench.h"
#include "core/engine/device_probe.h"
#include "core/engine/pipeline.h"
#include "core/engine/reference_trainer.h"

namespace tessera::cli {

namespace {

struct BenchSettings {
  bool json = false;
  bool throughput_only = false;   // the throughput part alone (what --compare-backends runs per backend)
  bool compare_backends = false;
  std::string device = "auto";
  int threads = 0;
  double matmul_seconds = 2.0;
  // Throughput model (the "width 512" of the utilisation target).
  int layers = 4, width = 512, heads = 8, context = 128;
  int micro_batch = 8, micro_batches = 2, steps = 6;
  // (steps: timed rounds; each round runs one step of every configuration)
  // Codec comparison model and budget: every codec trains the same model on the same data for the
  // same steps, long enough to be past the early phase where every run has the same loss.
  int codec_layers = 4, codec_width = 256, codec_context = 64;
  int codec_micro_batch = 8, codec_steps = 300, rank = 8, codec_stages = 2;
};

using clock = std::chrono::steady_clock;

model::ModelConfig throughput_model(const BenchSettings& s) {
  model::ModelConfig model;
  model.layers = s.layers;
  model.width = s.width;
  model.heads = s.heads;
  model.context = s.context;
  return model;
}

model::TrainConfig throughput_train(const BenchSettings& s) {
  model::TrainConfig train;
  train.micro_batch_size = s.micro_batch;
  train.micro_batches = s.micro_batches;
  train.total_steps = s.steps + 1;
  return train;
}

std::vector<std::vector<std::int32_t>> batches(const model::DataSource& data, const model::TrainConfig& train,
                                               std::int64_t step) {
  std::vector<std::vector<std::int32_t>> out;
  for (int m = 0; m < train.micro_batches; ++m)
    out.push_back(data.micro_batch(step, m, train.micro_batches, train.micro_batch_size));
  return out;
}

// Timed steps of one configuration, accumulated over interleaved rounds.
struct Timed {
  double seconds = 0.0, tokens = 0.0, flops = 0.0;
  template <typename F>
  void run(F&& step, int index) {
    const auto start = clock::now();
    const auto metrics = step(index);
    seconds += std::chrono::duration<double>(clock::now() - start).count();
    tokens += metrics.at("tokens");
    flops += metrics.at("flops");
  }
};

void say(const BenchSettings& s, const std::string& text) {
  if (!s.json) std::cerr << text << std::endl;
}

// Single process against the 2- and 4-stage pipelines, and the model-FLOPs utilisation against the
// matmul rate; adds its keys to `out`.
void bench_throughput(const BenchSettings& s, const engine::DeviceChoice& device, int threads, nlohmann::json& out) {
  const std::string device_label = device.label();
  const auto model = throughput_model(s);
  const auto train = throughput_train(s);
  const auto data = model::DataSource::arithmetic(model.context, model.seed);
  say(s, "building the single-process model and the 2- and 4-stage pipelines (" + std::to_string(model.layers) +
             " layers, width " + std::to_string(model.width) + ")...");
  engine::SingleProcessTrainer single({model, train, device_label, threads});
  std::vector<std::pair<int, std::unique_ptr<engine::Pipeline>>> pipelines;
  for (int stages : {2, 4})
    if (stages <= model.layers)
      pipelines.emplace_back(stages, std::make_unique<engine::Pipeline>(engine::PipelineOptions{
                                         model, train, stages, model::CodecKind::none, device_label, threads, 0}));
  const auto single_step = [&](int step) { return single.train_step(batches(data, train, step), train.micro_batch_size); };
  // Warm-up, then rounds that interleave the matmul rate and every configuration, so that load
  // from other processes on this machine spreads evenly over what is compared.
  single_step(0);
  for (auto& [stages, pipeline] : pipelines) pipeline->train_step(batches(data, train, 0));
  engine::measure_matmul(device, 0.2);
  Timed whole;
  std::vector<Timed> piped(pipelines.size());
  double matmul_flops = 0.0, matmul_seconds = 0.0;
  for (int round = 1; round <= s.steps; ++round) {
    say(s, "round " + std::to_string(round) + " of " + std::to_string(s.steps) + "...");
    const auto rate = engine::measure_matmul(device, s.matmul_seconds / s.steps);
    matmul_flops += rate.gflops * rate.seconds;
    matmul_seconds += rate.seconds;
    whole.run(single_step, round);
    for (std::size_t i = 0; i < pipelines.size(); ++i)
      piped[i].run([&](int step) { return pipelines[i].second->train_step(batches(data, train, step)); }, round);
  }
  const double matmul_gflops = matmul_flops / matmul_seconds;
  out["matmul_gflops"] = matmul_gflops;
  out["single_tokens_per_s"] = whole.tokens / whole.seconds;
  out["achieved_gflops"] = whole.flops / whole.seconds / 1e9;
  out["mfu"] = whole.flops / whole.seconds / (matmul_gflops * 1e9);
  for (std::size_t i = 0; i < pipelines.size(); ++i) {
    const auto key = std::to_string(pipelines[i].first);
    out["pipeline_tokens_per_s_" + key] = piped[i].tokens / piped[i].seconds;
    out["pipeline_ratio_" + key] = (piped[i].tokens / piped[i].seconds) / (whole.tokens / whole.seconds);
  }
  out["model"] = {{"layers", model.layers}, {"width", model.width}, {"heads", model.heads},
                  {"context", model.context}, {"vocab", model.vocab},
                  {"tokens_per_step", train.micro_batch_size * train.micro_batches * model.context}};
}

// On CUDA: the width-2048 model in bf16 against the measured bf16 matmul rate (mfu_bf16), its
// pipelines, and the codecs' rate on the device (core/engine/device_bench.h).
void bench_device(const BenchSettings& s, const engine::DeviceChoice& device, nlohmann::json& out) {
  say(s, "bf16 on " + device.label() + ": the width-2048 model, its pipelines and the device codecs...");
  engine::DeviceBenchOptions options;
  options.device = device;
  const auto r = engine::run_device_bench(options);
  out["matmul_gflops_bf16"] = r.matmul_gflops;
  out["tokens_per_s_bf16"] = r.tokens_per_s;
  out["mfu_bf16"] = r.mfu;
  for (const auto& [stages, ratio] : r.pipeline_ratio) out["pipeline_ratio_bf16_" + std::to_string(stages)] = ratio;
  nlohmann::json codecs = nlohmann::json::object();
  for (const auto& [name, rate] : r.codecs)
    codecs[name] = {{"encode_gb_per_s", rate.encode_gb_per_s}, {"decode_gb_per_s", rate.decode_gb_per_s}};
  out["device_codecs"] = codecs;
  out["bf16_model"] = {{"layers", options.config.layers}, {"width", options.config.width},
                       {"heads", options.config.heads}, {"context", options.config.context},
                       {"micro_batch", options.micro_batch}};
}

model::ModelConfig codec_model_config(const BenchSettings& s) {
  model::ModelConfig model;
  model.layers = s.codec_layers;
  model.width = s.codec_width;
  model.heads = std::max(1, s.codec_width / 64);
  model.context = s.codec_context;
  return model;
}

model::TrainConfig codec_train_config(const BenchSettings& s) {
  model::TrainConfig train;
  train.micro_batch_size = s.codec_micro_batch;
  train.micro_batches = 1;
  train.warmup_steps = std::max(1, s.codec_steps / 10);
  train.total_steps = s.codec_steps;
  train.lr = 2e-3;
  train.min_lr = 2e-4;
  return train;
}

// Codecs: the same budget through a pipeline for each, loss on held-out arithmetic; adds "codecs"
// and "codec_model" to `out`.
void bench_codecs(const BenchSettings& s, const std::string& device_label, int threads, nlohmann::json& out) {
  const auto codec_model = codec_model_config(s);
  const auto codec_train = codec_train_config(s);
  const auto codec_data = model::DataSource::arithmetic(codec_model.context, codec_model.seed);
  // A large held-out set, so that the codecs are compared on the model, not on a few problems.
  const auto eval = model::arithmetic_eval_set(codec_model.context, codec_model.seed, 1024);
  nlohmann::json codecs = nlohmann::json::object();
  double none_loss = 0.0;
  for (auto kind : model::all_codecs()) {
    auto m = codec_model;
    if (kind == model::CodecKind::subspace) m.subspace_rank = s.rank;
    say(s, "codec " + model::codec_name(kind) + ": " + std::to_string(s.codec_steps) + " steps...");
    engine::Pipeline pipeline({m, codec_train, s.codec_stages, kind, device_label, threads, 0});
    double bytes_per_token = 0.0, train_loss = 0.0, shared_bytes = 0.0;
    for (int step = 0; step < s.codec_steps; ++step) {
      auto metrics = pipeline.train_step(batches(codec_data, codec_train, step));
      bytes_per_token = metrics["forward_bytes_per_token"];
      shared_bytes = metrics["shared_embedding_bytes_per_stage"];
      train_loss = metrics["loss"];
    }
    const double loss = pipeline.evaluate(eval.tokens, eval.batch).loss;
    if (kind == model::CodecKind::none) none_loss = loss;
    codecs[model::codec_name(kind)] = {
        {"bytes_per_token", bytes_per_token},
        {"compression", 4.0 * codec_model.width / bytes_per_token},
        {"loss", loss},
        {"loss_gap", (loss - none_loss) / none_loss},
        {"final_train_loss", train_loss},
        {"values_per_token", kind == model::CodecKind::subspace ? s.rank : codec_model.width}};
    if (shared_bytes > 0.0) {
      // Besides the boundary traffic, each stage sends its part of the shared embeddings' gradient
      // once per step, whatever the batch: per token it shrinks as the step grows.
      const double tokens_per_step = static_cast<double>(codec_train.micro_batch_size) * codec_model.context;
      codecs[model::codec_name(kind)]["shared_embedding_bytes_per_step"] = shared_bytes;
      codecs[model::codec_name(kind)]["shared_embedding_bytes_per_token_here"] = shared_bytes / tokens_per_step;
    }
  }
  out["codecs"] = codecs;
  out["codec_model"] = {{"layers", codec_model.layers}, {"width", codec_model.width}, {"heads", codec_model.heads},
                        {"context", codec_model.context}, {"stages", s.codec_stages}, {"steps", s.codec_steps},
                        {"tokens_per_step", s.codec_micro_batch * codec_model.context}, {"subspace_rank", s.rank},
                        {"loss", "held-out arithmetic cross-entropy after the budget"}};
}

nlohmann::json run_bench(const BenchSettings& s) {
  const auto info = engine::probe_torch();
  const auto device = s.device == "auto" ? engine::default_device(info) : engine::parse_device(s.device, info);
  const int threads = s.threads > 0 ? s.threads : info.intra_op_threads;
  engine::set_torch_threads(threads);  // before the matmul rate, so both sides use the same threads
  nlohmann::json out;
  out["device"] = device.label();
  out["threads"] = threads;
  out["torch_version"] = info.version;
  out["backend"] = info.backend;
  bench_throughput(s, device, threads, out);
  if (s.throughput_only) return out;
  if (device.cuda) bench_device(s, device, out);
  bench_codecs(s, device.label(), threads, out);
  return out;
}

// The flags that give a child the same throughput model and budget.
std::vector<std::string> throughput_arguments(const BenchSettings& s) {
  return {"--json", "--throughput-only", "--device", "cpu", "--threads", std::to_string(s.threads),
          "--seconds", std::to_string(s.matmul_seconds), "--layers", std::to_string(s.layers),
          "--width", std::to_string(s.width), "--heads", std::to_string(s.heads),
          "--context", std::to_string(s.context), "--micro-batch", std::to_string(s.micro_batch),
          "--micro-batches", std::to_string(s.micro_batches), "--steps", std::to_string(s.steps)};
}

std::string text_report(const nlohmann::json& r) {
  char line[256];
  std::string text;
  std::snprintf(line, sizeof line, "backend %s (libtorch %s), device %s, %d threads, matmul %.1f GFLOP/s\n",
                r["backend"].get<std::string>().c_str(), r["torch_version"].get<std::string>().c_str(),
                r["device"].get<std::string>().c_str(), r["threads"].get<int>(), r["matmul_gflops"].get<double>());
  text += line;
  std::snprintf(line, sizeof line, "single process %.0f tokens/s, %.1f GFLOP/s, utilisation %.2f\n",
                r["single_tokens_per_s"].get<double>(), r["achieved_gflops"].get<double>(), r["mfu"].get<double>());
  text += line;
  if (r.contains("mfu_bf16")) {
    std::snprintf(line, sizeof line, "bf16: %.0f tokens/s on the width-2048 model, utilisation %.2f of %.1f GFLOP/s\n",
                  r["tokens_per_s_bf16"].get<double>(), r["mfu_bf16"].get<double>(),
                  r["matmul_gflops_bf16"].get<double>());
    text += line;
  }
  for (const char* key : {"pipeline_ratio_2", "pipeline_ratio_4"})
    if (r.contains(key)) {
      std::snprintf(line, sizeof line, "%s %.3f\n", key, r[key].get<double>());
      text += line;
    }
  for (const auto& [name, c] : r["codecs"].items()) {
    std::snprintf(line, sizeof line, "codec %-9s %8.1f bytes/token  %6.1fx  loss %.4f  gap %+.2f%%\n", name.c_str(),
                  c["bytes_per_token"].get<double>(), c["compression"].get<double>(), c["loss"].get<double>(),
                  100.0 * c["loss_gap"].get<double>());
    text += line;
  }
  return text;
}

}  // namespace

void add_bench_engine_command(CLI::App& bench) {
  auto s = std::make_shared<BenchSettings>();
  auto* command = bench.add_subcommand(
      "engine",
      "Shard-training engine: single-process vs in-process pipeline (2 and 4 stages) tokens/s, model-FLOPs "
      "utilisation against the measured matmul rate, and each boundary codec's bytes per token and loss.");
  command->footer(
      "Model sizes (defaults):\n"
      "  throughput: 4 layers, width 512, 8 heads, context 128, byte vocabulary 256 (12.6 M block\n"
      "              parameters), 2 micro-batches of 8 sequences per step, 6 timed rounds after a warm-up\n"
      "  codecs:     4 layers, width 256, 4 heads, context 64, 2 stages, 300 steps of 8 sequences on the\n"
      "              arithmetic corpus, the same for every codec; subspace rank 8 (12 bytes per token\n"
      "              instead of 1024); loss = cross-entropy on 1024 held-out problems after the budget\n"
      "  on CUDA also: width 2048, 4 layers, 16 heads, context 512 in bf16 (mfu_bf16 against the bf16 matmul\n"
      "              rate, pipeline_ratio_bf16_2/4, device_codecs.<codec>.{encode,decode}_gb_per_s)\n"
      "JSON keys: backend, pipeline_ratio_2, pipeline_ratio_4, mfu, matmul_gflops, codecs.{none,fp16,int8,subspace}\n"
      "           .{bytes_per_token, compression, loss, loss_gap}; codecs.subspace\n"
      "           .shared_embedding_bytes_per_step (each stage's once-per-step embedding-gradient sum)");
  command->add_flag("--json", s->json, "Print one JSON object");
  command->add_flag("--throughput-only", s->throughput_only, "Only the throughput part (no codec runs)");
  command->add_flag("--compare-backends", s->compare_backends,
                    "The throughput part on the CPU with each installed backend (a child process per backend "
                    "and round, alternating): tokens/s of PyTorch's libtorch 2.x against Debian's 1.13");
  command->add_option("--device", s->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  command->add_option("--threads", s->threads, "CPU threads for libtorch (0: libtorch's default)")->capture_default_str();
  command->add_option("--seconds", s->matmul_seconds, "Seconds to measure the matmul rate")->capture_default_str();
  command->add_option("--layers", s->layers, "Throughput model layers")->capture_default_str();
  command->add_option("--width", s->width, "Throughput model width")->capture_default_str();
  command->add_option("--heads", s->heads, "Throughput model heads")->capture_default_str();
  command->add_option("--context", s->context, "Throughput model context")->capture_default_str();
  command->add_option("--micro-batch", s->micro_batch, "Sequences per micro-batch")->capture_default_str();
  command->add_option("--micro-batches", s->micro_batches, "Micro-batches per step")->capture_default_str();
  command->add_option("--steps", s->steps, "Timed rounds (one step of each configuration per round)")->check(CLI::PositiveNumber)->capture_default_str();
  command->add_option("--codec-layers", s->codec_layers, "Codec model layers")->capture_default_str();
  command->add_option("--codec-width", s->codec_width, "Codec model width")->capture_default_str();
  command->add_option("--codec-context", s->codec_context, "Codec model context")->capture_default_str();
  command->add_option("--codec-micro-batch", s->codec_micro_batch, "Codec run sequences per step")->capture_default_str();
  command->add_option("--codec-steps", s->codec_steps, "Training budget per codec")->check(CLI::PositiveNumber)->capture_default_str();
  command->add_option("--codec-stages", s->codec_stages, "Stages in the codec runs")->capture_default_str();
  command->add_option("--rank", s->rank, "Subspace codec rank r (coefficients per token)")->capture_default_str();
  command->callback([s] {
    if (s->compare_backends) {
      const auto report = compare_backends(throughput_arguments(*s), 2);
      std::cout << report.dump(2) << "\n";
      return;
    }
    const auto report = run_bench(*s);
    if (s->json)
      std::cout << report.dump(2) << "\n";
    else
      std::cout << text_report(report);
  });
}

}  // namespace tessera::cli

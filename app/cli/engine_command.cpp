// `tessera-node train`: trains the model as an in-process pipeline of stage workers on a corpus,
// with checkpoints and resume; the same stages the swarm will run one per machine.
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "core/model/data.h"
#include "core/engine/pipeline.h"
#include "core/sys/paths.h"

namespace tessera::cli {

namespace {

struct TrainSettings {
  model::ModelConfig model;
  model::TrainConfig train;
  std::string corpus = "arithmetic";
  std::string codec = "none";
  std::string device = "cpu";
  int stages = 2;
  int steps = 200;
  int threads = 0;
  int log_every = 10;
  double memory_limit_mib = 0;
  std::string checkpoint;
  bool resume = false;
  bool json = false;
};

void run_train(TrainSettings& s, const GlobalOptions& global) {
  s.train.total_steps = s.steps;
  const auto codec = model::parse_codec(s.codec);
  if (codec == model::CodecKind::subspace && s.model.subspace_rank == 0) s.model.subspace_rank = 16;
  model::validate(s.model);
  auto data = model::DataSource::from_spec(s.corpus, s.model.context, s.model.seed);
  engine::Pipeline pipeline({s.model, s.train, s.stages, codec, s.device, s.threads,
                             static_cast<std::int64_t>(s.memory_limit_mib * 1024 * 1024)});
  std::filesystem::path checkpoint;
  if (!s.checkpoint.empty()) {
    checkpoint = s.checkpoint;
    if (checkpoint.is_relative()) {
      sys::ensure_data_dir(global.resolved_data_dir());
      checkpoint = global.resolved_data_dir() / "checkpoints" / checkpoint;
    }
  }
  if (s.resume) {
    if (checkpoint.empty()) throw std::invalid_argument("--resume needs --checkpoint");
    pipeline.load(checkpoint);
  }
  if (!s.json)
    std::cerr << "training " << s.stages << " stages on " << data.description() << " (" << data.bytes()
              << " bytes), codec " << s.codec << ", from step " << pipeline.step_count() << "\n";
  for (auto step = pipeline.step_count(); step < s.steps; ++step) {
    std::vector<std::vector<std::int32_t>> batches;
    for (int m = 0; m < s.train.micro_batches; ++m)
      batches.push_back(data.micro_batch(step, m, s.train.micro_batches, s.train.micro_batch_size));
    auto metrics = pipeline.train_step(batches);
    if ((step + 1) % s.log_every == 0 || step + 1 == s.steps) {
      nlohmann::json line = metrics;
      line["step"] = step + 1;
      if (s.json)
        std::cout << line.dump() << std::endl;
      else
        std::cout << "step " << step + 1 << "  loss " << metrics["loss"] << "  lr " << metrics["lr"] << "  grad_norm "
                  << metrics["grad_norm"] << "  bytes/token/boundary " << metrics["forward_bytes_per_token"]
                  << std::endl;
      if (!checkpoint.empty()) pipeline.save(checkpoint);
    }
  }
  if (s.corpus == "arithmetic") {
    const auto eval = model::arithmetic_eval_set(s.model.context, s.model.seed, 256);
    const auto result = pipeline.evaluate(eval.tokens, eval.batch);
    const auto accuracy = model::answer_accuracy(eval, result.predictions);
    nlohmann::json line{{"held_out_loss", result.loss}, {"answer_accuracy", accuracy.exact},
                        {"answer_token_accuracy", accuracy.digits}};
    std::cout << (s.json ? line.dump() : "held-out: " + line.dump()) << std::endl;
  }
}

}  // namespace

void add_train_command(CLI::App& app, const GlobalOptions& global) {
  auto s = std::make_shared<TrainSettings>();
  s->model.layers = 4;
  s->model.width = 128;
  s->model.heads = 4;
  s->model.context = 64;
  s->train.micro_batch_size = 8;
  s->train.micro_batches = 2;
  auto* command = app.add_subcommand("train", "Train a GPT split into pipeline stages, in one process, on a corpus");
  command->add_option("--corpus", s->corpus, "'arithmetic' (generated sums with exact answers) or a text file or folder")
      ->capture_default_str();
  command->add_option("--stages", s->stages, "Pipeline stages")->capture_default_str();
  command->add_option("--codec", s->codec, "Boundary codec: none, fp16, int8 or subspace")->capture_default_str();
  command->add_option("--steps", s->steps, "Optimizer steps")->capture_default_str();
  command->add_option("--layers", s->model.layers, "Transformer blocks")->capture_default_str();
  command->add_option("--width", s->model.width, "Model width")->capture_default_str();
  command->add_option("--heads", s->model.heads, "Attention heads")->capture_default_str();
  command->add_option("--context", s->model.context, "Tokens per sequence")->capture_default_str();
  command->add_option("--dropout", s->model.dropout, "Dropout probability")->capture_default_str();
  command->add_option("--seed", s->model.seed, "Run seed (weights, data order, subspace)")->capture_default_str();
  command->add_option("--rank", s->model.subspace_rank, "Subspace rank (subspace codec; 16 when unset)");
  command->add_option("--micro-batch", s->train.micro_batch_size, "Sequences per micro-batch")->capture_default_str();
  command->add_option("--micro-batches", s->train.micro_batches, "Micro-batches per step")->capture_default_str();
  command->add_option("--lr", s->train.lr, "Peak learning rate")->capture_default_str();
  command->add_option("--warmup", s->train.warmup_steps, "Warm-up steps")->capture_default_str();
  command->add_option("--clip", s->train.clip_norm, "Global gradient-norm clip (0: off)")->capture_default_str();
  command->add_option("--device", s->device, "cpu, cuda or cuda:N")->capture_default_str();
  command->add_option("--threads", s->threads, "CPU threads for libtorch (0: default)")->capture_default_str();
  command->add_option("--memory-limit", s->memory_limit_mib, "Refuse stages whose estimate exceeds this many MiB");
  command->add_option("--checkpoint", s->checkpoint,
                      "Checkpoint folder (relative paths go under the data folder's checkpoints/)");
  command->add_flag("--resume", s->resume, "Continue from --checkpoint");
  command->add_option("--log-every", s->log_every, "Steps between progress lines")->capture_default_str();
  command->add_flag("--json", s->json, "Print JSON lines");
  command->callback([s, &global] { run_train(*s, global); });
}

}  // namespace tessera::cli

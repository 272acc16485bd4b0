// The reference trainer: the whole model as one StageModule, trained with plain autograd.
#include "core/backend/torch_pch.h"

#include "core/backend/torch_trainer.h"

#include <cmath>

#include "core/backend/torch_probe.h"
#include "core/backend/gpt_modules.h"
#include "core/backend/gpt_training.h"
#include "core/backend/device.h"
#include "core/backend/heap_tuning.h"

namespace tessera::engine {

namespace {

struct TorchTrainer final : TrainerCore {
  explicit TorchTrainer(const TrainerOptions& given);
  Metrics train_step(const std::vector<std::vector<std::int32_t>>& micro_batches, int batch) override;
  EvalResult evaluate(const std::vector<std::int32_t>& tokens, int batch) override;
  std::vector<std::pair<std::string, std::vector<float>>> named_parameters() const override;
  std::int64_t step_count() const override { return step; }

  TrainerOptions options;
  torch::Device device{torch::kCPU};
  StageModule module{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  at::Generator generator;
  torch::Tensor causal_mask;
  std::int64_t step = 0;
  double flops_per_token = 0.0;
  bool bf16 = false;
};

TorchTrainer::TorchTrainer(const TrainerOptions& given) {
  auto& s = *this;
  validate(given.model);
  s.options = given;
  if (given.threads > 0) torch_set_threads(given.threads);
  s.device = choose_device(given.device);
  s.bf16 = use_bf16(given.precision, s.device);
  const auto plan = plan_stage(given.model, 1, 0);
  if (s.device.is_cpu())
    keep_freed_memory_for_reuse(estimate_stage_memory(given.model, plan, given.train.micro_batch_size, 1));
  s.module = StageModule(given.model, plan);
  s.module->to(s.device);
  s.module->train();
  s.optimizer = make_optimizer(s.module, given.train);
  s.generator = seeded_generator(mix(given.model.seed ^ 0x44524f50ULL));
  s.causal_mask = torch::ones({given.model.context, given.model.context}, torch::kBool).triu(1).to(s.device);
  s.flops_per_token = stage_training_flops_per_token(given.model, plan);
}

Metrics TorchTrainer::train_step(const std::vector<std::vector<std::int32_t>>& micro_batches, int batch) {
  auto& s = *this;
  const auto start = clock::now();
  const int micro = static_cast<int>(micro_batches.size());
  double loss_sum = 0.0, tokens = 0.0;
  for (const auto& tokens_host : micro_batches) {
    const int columns = static_cast<int>(tokens_host.size()) / batch;
    const auto all = tokens_tensor(tokens_host, batch, columns).to(s.device);
    const auto inputs = all.slice(1, 0, columns - 1), targets = all.slice(1, 1, columns);
    torch::Tensor loss;
    {
      AutocastScope autocast{s.bf16};  // the forward only: backward runs in the dtypes autograd recorded
      auto stream = s.module->run_blocks(s.module->embed(inputs), s.causal_mask, s.generator);
      loss = torch::nn::functional::cross_entropy(s.module->logits(stream).reshape({-1, s.options.model.vocab}),
                                                  targets.reshape({-1}));
    }
    loss_sum += loss.item<double>();
    (loss / static_cast<double>(s.options.train.micro_batches)).backward();
    tokens += static_cast<double>(batch) * (columns - 1);
  }
  const double norm = std::sqrt(sum_of_squared_grads(s.module));
  const auto [lr, clipped] = clip_and_step(s.module, *s.optimizer, s.options.train, s.step, norm);
  ++s.step;
  if (s.device.is_cuda()) torch::cuda::synchronize(s.device.index());
  return {{"loss", loss_sum / micro}, {"tokens", tokens}, {"flops", s.flops_per_token * tokens},
          {"lr", lr}, {"grad_norm", norm}, {"clipped", clipped ? 1.0 : 0.0},
          {"device_seconds", seconds_since(start)}};
}

EvalResult TorchTrainer::evaluate(const std::vector<std::int32_t>& tokens_host, int batch) {
  auto& s = *this;
  torch::NoGradGuard no_grad;
  AutocastScope autocast{s.bf16};
  s.module->eval();
  const int columns = static_cast<int>(tokens_host.size()) / batch;
  const auto all = tokens_tensor(tokens_host, batch, columns).to(s.device);
  const auto inputs = all.slice(1, 0, columns - 1), targets = all.slice(1, 1, columns);
  const auto logits = s.module->logits(s.module->run_blocks(s.module->embed(inputs), s.causal_mask, s.generator));
  s.module->train();
  EvalResult result;
  result.loss = torch::nn::functional::cross_entropy(logits.reshape({-1, s.options.model.vocab}), targets.reshape({-1}))
                    .item<double>();
  const auto predicted = logits.argmax(-1).to(torch::kCPU, torch::kInt32).contiguous();
  result.predictions.assign(predicted.data_ptr<std::int32_t>(), predicted.data_ptr<std::int32_t>() + predicted.numel());
  return result;
}

std::vector<std::pair<std::string, std::vector<float>>> TorchTrainer::named_parameters() const {
  return flatten(module);
}

}  // namespace

std::unique_ptr<TrainerCore> make_torch_trainer(const TrainerOptions& options) {
  return std::make_unique<TorchTrainer>(options);
}

}  // namespace tessera::engine

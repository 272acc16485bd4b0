// The training-step pieces the stage worker and the reference trainer share.
#include "core/backend/torch_pch.h"

#include "core/backend/gpt_training.h"

#include "core/backend/torch_probe.h"

namespace tessera::engine {

torch::Device choose_device(const std::string& text) {
  const auto choice = parse_device(text, torch_probe());
  return choice.cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(choice.index))
                     : torch::Device(torch::kCPU);
}

std::unique_ptr<torch::optim::AdamW> make_optimizer(StageModule& module, const TrainConfig& train) {
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& item : module->named_parameters()) {
    const bool is_matrix = item.value().dim() == 2 && item.key().find("emb") == std::string::npos;
    (is_matrix ? decay : no_decay).push_back(item.value());
  }
  auto options = [&](double weight_decay) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(train.lr)
                                                            .betas({train.beta1, train.beta2})
                                                            .eps(train.eps)
                                                            .weight_decay(weight_decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(train.weight_decay));
  groups.emplace_back(no_decay, options(0.0));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(train.lr));
}

double sum_of_squared_grads(StageModule& module, const std::vector<torch::Tensor>& skip) {
  torch::NoGradGuard no_grad;
  double total = 0.0;
  for (auto& p : module->parameters()) {
    bool skipped = false;
    for (const auto& other : skip) skipped = skipped || p.is_same(other);
    if (!skipped && p.grad().defined()) total += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  }
  return total;
}

std::pair<double, bool> clip_and_step(StageModule& module, torch::optim::AdamW& optimizer, const TrainConfig& train,
                                      std::int64_t step, double global_norm) {
  torch::NoGradGuard no_grad;
  bool clipped = false;
  if (train.clip_norm > 0.0) {
    const double coefficient = train.clip_norm / (global_norm + 1e-6);
    if (coefficient < 1.0) {
      clipped = true;
      for (auto& p : module->parameters())
        if (p.grad().defined()) p.grad().mul_(coefficient);
    }
  }
  const double lr = learning_rate(train, step);
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  optimizer.step();
  optimizer.zero_grad();
  return {lr, clipped};
}

torch::Tensor tokens_tensor(const std::vector<std::int32_t>& tokens, int batch, int sequence_plus_one) {
  return torch::from_blob(const_cast<std::int32_t*>(tokens.data()), {batch, sequence_plus_one}, torch::kInt32)
      .to(torch::kInt64);
}

std::vector<std::pair<std::string, std::vector<float>>> flatten(const StageModule& module) {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  for (const auto& item : module->named_parameters()) {
    const auto cpu = item.value().detach().to(torch::kCPU).contiguous();
    out.emplace_back(item.key(), std::vector<float>(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel()));
  }
  return out;
}

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

}  // namespace tessera::engine

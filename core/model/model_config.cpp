// Model shapes, stage plans, parameter counts, learning-rate schedule and memory estimates
// (no libtorch, so anything may include model_config.h).
#include "core/model/model_config.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/model/flops.h"

namespace tessera::model {

namespace {
constexpr double pi = 3.14159265358979323846;
}

ModelConfig demo_model_config() { return ModelConfig{}; }

void validate(const ModelConfig& config) {
  const auto bad = [](const std::string& what) { throw std::invalid_argument("model config: " + what); };
  if (config.layers < 1) bad("layers must be at least 1");
  if (config.width < 1 || config.heads < 1) bad("width and heads must be positive");
  if (config.width % config.heads != 0)
    bad("width " + std::to_string(config.width) + " is not divisible by heads " + std::to_string(config.heads));
  if (config.context < 1) bad("context must be at least 1");
  if (config.vocab < 2) bad("vocab must be at least 2");
  if (config.dropout < 0.0 || config.dropout >= 1.0) bad("dropout must be in [0, 1)");
  if (config.subspace_rank < 0 || config.subspace_rank > config.width)
    bad("subspace rank must be between 0 and the width " + std::to_string(config.width));
}

std::int64_t non_embedding_parameters(const ModelConfig& config) {
  const std::int64_t d = config.width;
  // attention: qkv (3d² + 3d) and projection (d² + d); MLP: d→4d→d (8d² + 5d); two LayerNorms (4d).
  const std::int64_t per_block = 12 * d * d + 13 * d;
  return per_block * config.layers;
}

std::int64_t block_parameters(const ModelConfig& config, bool constrained) {
  const std::int64_t d = config.width;
  if (config.subspace_rank == 0 || !constrained) return 12 * d * d + 13 * d;
  const std::int64_t r = config.subspace_rank;
  // qkv 3d²+3d, projection d·r+r, MLP up 4d²+4d, MLP down 4d·r+r, two LayerNorms 4d.
  return 3 * d * d + 3 * d + d * r + r + 4 * d * d + 4 * d + 4 * d * r + r + 4 * d;
}

double learning_rate(const TrainConfig& train, std::int64_t step) {
  if (train.warmup_steps > 0 && step < train.warmup_steps)
    return train.lr * static_cast<double>(step + 1) / train.warmup_steps;
  const std::int64_t decay_steps = std::max<std::int64_t>(1, train.total_steps - train.warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - train.warmup_steps) / decay_steps);
  return train.min_lr + 0.5 * (train.lr - train.min_lr) * (1.0 + std::cos(pi * progress));
}

StagePlan plan_stage(const ModelConfig& config, int stages, int index) {
  if (stages < 1 || stages > config.layers)
    throw std::invalid_argument("cannot split " + std::to_string(config.layers) + " layers into " +
                                std::to_string(stages) + " stages: use between 1 and the layer count");
  if (index < 0 || index >= stages)
    throw std::invalid_argument("stage index " + std::to_string(index) + " is outside 0.." + std::to_string(stages - 1));
  StagePlan plan;
  plan.index = index;
  plan.count = stages;
  const int base = config.layers / stages;
  const int extra = config.layers % stages;
  plan.first_block = index * base + std::min(index, extra);
  plan.end_block = plan.first_block + base + (index < extra ? 1 : 0);
  return plan;
}

bool block_constrained(const ModelConfig& config, const StagePlan& plan, int block) {
  if (config.subspace_rank == 0) return false;
  return block < plan_stage(config, plan.count, plan.count - 1).first_block;
}

std::int64_t stage_non_embedding_parameters(const ModelConfig& config, const StagePlan& plan) {
  std::int64_t total = 0;
  for (int block = plan.first_block; block < plan.end_block; ++block)
    total += block_parameters(config, block_constrained(config, plan, block));
  return total;
}

std::int64_t stage_parameters(const ModelConfig& config, const StagePlan& plan) {
  const std::int64_t d = config.width;
  std::int64_t total = stage_non_embedding_parameters(config, plan);
  // Under the subspace constraint every stage holds a copy of the embeddings (it recomputes them
  // from the token ids to rebuild the stream); otherwise only stage 0 does.
  if (plan.has_embedding() || config.subspace_rank > 0) total += (std::int64_t(config.vocab) + config.context) * d;
  if (plan.has_head()) total += 2 * d + d * config.vocab + config.vocab;
  return total;
}

double stage_training_flops_per_token(const ModelConfig& config, const StagePlan& plan) {
  const model::StageShape shape{stage_non_embedding_parameters(config, plan), plan.blocks(), config.width,
                                   config.context};
  return model::training_flops_per_token(shape);
}

MemoryEstimate estimate_stage_memory(const ModelConfig& config, const StagePlan& plan, int micro_batch_size,
                                     int in_flight) {
  MemoryEstimate estimate;
  const std::int64_t params = stage_parameters(config, plan);
  estimate.parameters = 4 * params;
  estimate.gradients = 4 * params;
  estimate.optimizer = 8 * params;
  const double s = config.context, b = micro_batch_size, d = config.width, a = config.heads;
  double values = plan.blocks() * s * b * d * (34.0 + 5.0 * a * s / d);  // 16-bit bytes per block
  values *= 2.0;                                                          // fp32
  if (plan.has_head()) values += 4.0 * s * b * (2.0 * config.vocab + d);  // logits, softmax, final LN
  estimate.activations = static_cast<std::int64_t>(values) * std::max(1, in_flight);
  return estimate;
}

std::string format_bytes(std::int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

}  // namespace tessera::model

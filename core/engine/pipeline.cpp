// The in-process pipeline driver over the Stage API.
#include "core/engine/pipeline.h"

#include <cmath>
#include <stdexcept>

namespace tessera::engine {

Pipeline::Pipeline(const PipelineOptions& options) : options_(options) {
  for (int i = 0; i < options.stages; ++i) {
    StageOptions stage;
    stage.model = options.model;
    stage.train = options.train;
    stage.stage_count = options.stages;
    stage.stage_index = i;
    stage.codec = options.codec;
    stage.device = options.device;
    stage.threads = options.threads;
    stage.memory_limit_bytes = options.memory_limit_bytes;
    stage.in_flight = 1;  // train_step runs each micro-batch's backward before the next forward
    stages_.emplace_back(stage);
  }
}

Metrics Pipeline::train_step(const std::vector<std::vector<std::int32_t>>& micro_batches) {
  const int count = static_cast<int>(micro_batches.size());
  if (count != options_.train.micro_batches)
    throw std::invalid_argument("a step takes " + std::to_string(options_.train.micro_batches) + " micro-batches, got " +
                                std::to_string(count));
  const int batch = options_.train.micro_batch_size;
  Metrics total;
  double loss = 0.0, forward_bytes = 0.0, backward_bytes = 0.0;
  const std::int64_t first = next_micro_batch_;
  // One micro-batch at a time: forward through every stage, then straight back. Run in one
  // process the stages cannot overlap, so stashing every micro-batch's activations before the
  // first backward (all-forward-then-all-backward) would only multiply the memory in use; this
  // order gives the same gradients (each stage accumulates the micro-batches in the same order)
  // and keeps one micro-batch in flight, like the unsplit trainer.
  for (int m = 0; m < count; ++m) {
    ForwardMessage message;
    message.micro_batch = first + m;
    message.batch = batch;
    message.sequence = static_cast<int>(micro_batches[static_cast<std::size_t>(m)].size()) / batch - 1;
    message.tokens = micro_batches[static_cast<std::size_t>(m)];
    for (auto& stage : stages_) {
      auto result = stage.forward(message);
      loss += result.metrics.count("loss") ? result.metrics["loss"] : 0.0;
      forward_bytes += result.metrics["payload_bytes"];
      total["tokens"] += stage.plan().index == 0 ? result.metrics["tokens"] : 0.0;
      total["flops"] += result.metrics["flops"];
      total["device_seconds"] += result.metrics["device_seconds"];
      message = std::move(result.output);
    }
    Payload gradient;
    for (auto stage = stages_.rbegin(); stage != stages_.rend(); ++stage) {
      auto result = stage->backward(first + m, gradient);
      backward_bytes += result.metrics["payload_bytes"];
      total["flops"] += result.metrics["flops"];
      total["device_seconds"] += result.metrics["device_seconds"];
      gradient = std::move(result.grad_input);
    }
  }
  next_micro_batch_ += count;
  // Subspace pipelines: every stage holds the token and position embeddings; their gradient is
  // the sum of every stage's part (what the swarm does with one all-reduce per step).
  if (stages_.front().shared_embedding_size() > 0) {
    std::vector<float> summed = stages_.front().shared_embedding_gradient();
    for (std::size_t i = 1; i < stages_.size(); ++i) {
      const auto part = stages_[i].shared_embedding_gradient();
      for (std::size_t k = 0; k < summed.size(); ++k) summed[k] += part[k];
    }
    for (auto& stage : stages_) stage.set_shared_embedding_gradient(summed);
    total["shared_embedding_bytes_per_stage"] = 4.0 * static_cast<double>(summed.size());
  }
  double squared = 0.0;
  for (const auto& stage : stages_) squared += stage.grad_norm_squared();
  const double norm = std::sqrt(squared);
  for (auto& stage : stages_) {
    auto metrics = stage.step(norm);
    total["lr"] = metrics["lr"];
    total["device_seconds"] += metrics["device_seconds"];
  }
  total["grad_norm"] = norm;
  total["loss"] = loss / count;
  const double boundaries = static_cast<double>(stages_.size() - 1);
  if (boundaries > 0 && total["tokens"] > 0) {
    total["forward_bytes_per_token"] = forward_bytes / boundaries / total["tokens"];
    total["backward_bytes_per_token"] = backward_bytes / boundaries / total["tokens"];
  }
  return total;
}

EvalResult Pipeline::evaluate(const std::vector<std::int32_t>& tokens, int batch) {
  ForwardMessage message;
  message.micro_batch = -1;
  message.batch = batch;
  message.sequence = static_cast<int>(tokens.size()) / batch - 1;
  message.tokens = tokens;
  EvalResult result;
  for (auto& stage : stages_) {
    result = stage.evaluate(message);
    message = result.output;
  }
  return result;
}

std::vector<std::pair<std::string, std::vector<float>>> Pipeline::named_parameters() const {
  std::vector<std::pair<std::string, std::vector<float>>> all;
  for (const auto& stage : stages_)
    for (auto& item : stage.named_parameters()) all.push_back(std::move(item));
  return all;
}

std::int64_t Pipeline::step_count() const { return stages_.front().step_count(); }

std::filesystem::path Pipeline::checkpoint_file(const std::filesystem::path& folder, int index, int count) {
  return folder / ("stage-" + std::to_string(index) + "-of-" + std::to_string(count) + ".pt");
}

void Pipeline::save(const std::filesystem::path& folder) const {
  for (const auto& stage : stages_)
    stage.save(checkpoint_file(folder, stage.plan().index, stage.plan().count));
}

void Pipeline::load(const std::filesystem::path& folder) {
  for (auto& stage : stages_) stage.load(checkpoint_file(folder, stage.plan().index, stage.plan().count));
  next_micro_batch_ = step_count() * options_.train.micro_batches;
}

}  // namespace tessera::engine

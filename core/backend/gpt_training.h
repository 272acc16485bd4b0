// What a training step needs besides the model, shared by the stage worker (stage.cpp) and the
// unsplit reference trainer (reference_trainer.cpp), so that the two compute the same thing: the
// device chosen once, AdamW with its parameter groups, the global-norm clip and the scheduled step,
// token ids as a tensor, parameters copied out by name, and the device-time clock. Internal to the
// engine's torch translation units, like core/backend/gpt_modules.h.
#pragma once

#ifndef TORCH_VERSION_MAJOR
#error "core/backend/gpt_training.h is for the engine's torch translation units: include core/backend/torch_pch.h first"
#endif

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/backend/gpt_modules.h"
#include "core/engine/model_types.h"

namespace tessera::engine {

// "cpu", "cuda" or "cuda:N", checked against what this build and machine offer.
torch::Device choose_device(const std::string& text);

// AdamW with decay on matrices only (GPT-2 practice): biases, LayerNorms, embeddings excluded.
std::unique_ptr<torch::optim::AdamW> make_optimizer(StageModule& module, const TrainConfig& train);

// Sum of squared gradients, leaving out `skip` (a replica another stage already counts).
double sum_of_squared_grads(StageModule& module, const std::vector<torch::Tensor>& skip = {});

// Clip by the global norm (torch's clip_grad_norm_ rule), step at the scheduled rate, zero grads.
// Returns the learning rate used and whether the gradients were clipped.
std::pair<double, bool> clip_and_step(StageModule& module, torch::optim::AdamW& optimizer, const TrainConfig& train,
                                      std::int64_t step, double global_norm);

// Token ids [batch, sequence_plus_one] as int64 on the CPU.
torch::Tensor tokens_tensor(const std::vector<std::int32_t>& tokens, int batch, int sequence_plus_one);

// Every parameter copied to the host, by name, in registration order.
std::vector<std::pair<std::string, std::vector<float>>> flatten(const StageModule& module);

using clock = std::chrono::steady_clock;
double seconds_since(clock::time_point start);

}  // namespace tessera::engine

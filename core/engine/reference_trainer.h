// The unsplit model in one process with plain autograd: the reference the pipeline must equal,
// and the single-process baseline of `bench engine`. libtorch stays inside reference_trainer.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/model_types.h"
#include "core/engine/stage.h"

namespace tessera::engine {

struct TrainerOptions {
  ModelConfig model;
  TrainConfig train;
  std::string device = "cpu";
  int threads = 0;
};

class SingleProcessTrainer {
 public:
  explicit SingleProcessTrainer(const TrainerOptions& options);
  ~SingleProcessTrainer();
  // One optimizer step over the given micro-batches, each [batch, T + 1] token ids.
  Metrics train_step(const std::vector<std::vector<std::int32_t>>& micro_batches, int batch);
  EvalResult evaluate(const std::vector<std::int32_t>& tokens, int batch);
  std::vector<std::pair<std::string, std::vector<float>>> named_parameters() const;
  std::int64_t step_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::engine

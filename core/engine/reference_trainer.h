// The unsplit model in one process with plain autograd: the reference the pipeline must equal,
// and the single-process baseline of `bench engine`. The work is the loaded backend's
// (backend.h); this handle holds it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/model_types.h"
#include "core/engine/stage_types.h"

namespace tessera::engine {

struct TrainerOptions {
  ModelConfig model;
  TrainConfig train;
  std::string device = "cpu";
  int threads = 0;
  Precision precision = Precision::automatic;
};

// The trainer as a backend does it.
class TrainerCore {
 public:
  virtual ~TrainerCore() = default;
  virtual Metrics train_step(const std::vector<std::vector<std::int32_t>>& micro_batches, int batch) = 0;
  virtual EvalResult evaluate(const std::vector<std::int32_t>& tokens, int batch) = 0;
  virtual std::vector<std::pair<std::string, std::vector<float>>> named_parameters() const = 0;
  virtual std::int64_t step_count() const = 0;
};

class SingleProcessTrainer {
 public:
  explicit SingleProcessTrainer(const TrainerOptions& options);
  ~SingleProcessTrainer();
  // One optimizer step over the given micro-batches, each [batch, T + 1] token ids.
  Metrics train_step(const std::vector<std::vector<std::int32_t>>& micro_batches, int batch) {
    return core_->train_step(micro_batches, batch);
  }
  EvalResult evaluate(const std::vector<std::int32_t>& tokens, int batch) { return core_->evaluate(tokens, batch); }
  std::vector<std::pair<std::string, std::vector<float>>> named_parameters() const {
    return core_->named_parameters();
  }
  std::int64_t step_count() const { return core_->step_count(); }

 private:
  std::unique_ptr<TrainerCore> core_;
};

}  // namespace tessera::engine

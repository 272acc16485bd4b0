// An in-process pipeline: S stage workers connected through their codecs, driven one micro-batch
// at a time (forward through every stage, then backward), agreeing on the global gradient norm by
// summing one scalar per stage. It uses only the Stage API, exactly as stages on different machines would.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/stage.h"

namespace tessera::engine {

struct PipelineOptions {
  ModelConfig model;
  TrainConfig train;
  int stages = 1;
  CodecKind codec = CodecKind::none;
  std::string device = "cpu";
  int threads = 0;
  std::int64_t memory_limit_bytes = 0;
};

class Pipeline {
 public:
  explicit Pipeline(const PipelineOptions& options);

  // One optimizer step over train.micro_batches micro-batches, each [micro_batch_size, T + 1]
  // token ids. Metrics: loss (mean over micro-batches), tokens, flops, device_seconds, lr,
  // grad_norm, forward_bytes_per_token and backward_bytes_per_token (per boundary); subspace
  // pipelines also sum the shared embeddings' gradient over the stages before the norm and report
  // shared_embedding_bytes_per_stage (what each stage sends for that sum, once per step).
  Metrics train_step(const std::vector<std::vector<std::int32_t>>& micro_batches);
  EvalResult evaluate(const std::vector<std::int32_t>& tokens, int batch);

  std::vector<std::pair<std::string, std::vector<float>>> named_parameters() const;
  std::int64_t step_count() const;
  int stage_count() const { return static_cast<int>(stages_.size()); }
  Stage& stage(int index) { return stages_.at(static_cast<std::size_t>(index)); }

  // One checkpoint file per stage in `folder` (stage-I-of-N.pt).
  void save(const std::filesystem::path& folder) const;
  void load(const std::filesystem::path& folder);
  static std::filesystem::path checkpoint_file(const std::filesystem::path& folder, int index, int count);

 private:
  PipelineOptions options_;
  std::vector<Stage> stages_;
  std::int64_t next_micro_batch_ = 0;
};

}  // namespace tessera::engine

// The transformer's shape and its training settings as a run manifest carries them, how it is
// split into stages, and what a stage costs in memory and FLOPs: plain structs, no libtorch.
#pragma once

#include <cstdint>
#include <string>

namespace tessera::model {

struct ModelConfig {
  int layers = 4;
  int width = 256;  // d_model
  int heads = 4;
  int context = 128;  // tokens per sequence
  int vocab = 256;    // byte-level tokenizer
  double dropout = 0.0;
  std::uint64_t seed = 1;
  // > 0: the Protocol Models subspace constraint (arXiv 2506.01260). The output projections of
  // every block whose writes cross a stage boundary write only into a fixed rank-r subspace of
  // the residual stream shared by all stages; every stage holds the learned token and position
  // embeddings and recomputes them from the token ids. Then only r coefficients per token cross
  // a stage boundary (plus, once per step, the sum of the embeddings' gradient; see Stage).
  int subspace_rank = 0;
};

// The model `tessera-node demo` trains and `doctor` quotes its tokens/s for.
ModelConfig demo_model_config();

// Throws std::invalid_argument naming the bad field (width not divisible by heads, rank > width…).
void validate(const ModelConfig& config);

// Parameters outside the embeddings and the output head: 12·d² per block plus LayerNorms
// (the unconstrained model; see block_parameters for the subspace-constrained one).
std::int64_t non_embedding_parameters(const ModelConfig& config);
// Parameters of one transformer block; `constrained`: its output projections write into the
// rank-r subspace (config.subspace_rank > 0 and the block's output crosses a stage boundary).
std::int64_t block_parameters(const ModelConfig& config, bool constrained);

// AdamW with linear warm-up then cosine decay to min_lr, gradients clipped by the global norm.
struct TrainConfig {
  double lr = 3e-3;
  double min_lr = 3e-4;
  int warmup_steps = 10;
  int total_steps = 1000;  // the cosine reaches min_lr here and stays there
  double weight_decay = 0.1;  // matrices only; biases, LayerNorms and embeddings are not decayed
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double clip_norm = 1.0;  // <= 0 disables clipping
  int micro_batch_size = 8;  // sequences per micro-batch
  int micro_batches = 4;     // micro-batches per optimizer step
};

// Learning rate at `step` (0-based): warm-up, then cosine from lr to min_lr.
double learning_rate(const TrainConfig& train, std::int64_t step);

// Which blocks a stage holds. Stage 0 also holds the embeddings, the last stage the final
// LayerNorm, the output head and the loss.
struct StagePlan {
  int index = 0;
  int count = 1;
  int first_block = 0;
  int end_block = 0;  // one past the last
  bool has_embedding() const { return index == 0; }
  bool has_head() const { return index == count - 1; }
  int blocks() const { return end_block - first_block; }
};

// Splits config.layers blocks into `stages` contiguous runs as evenly as possible (earlier
// stages take the remainder). Throws std::invalid_argument when stages < 1 or > layers.
StagePlan plan_stage(const ModelConfig& config, int stages, int index);

// Under the subspace constraint only writes that cross a boundary need to stay in the subspace:
// blocks before the last stage are constrained, the last stage's blocks are not (their writes
// reach only the head, in the same process). No block is constrained when subspace_rank is 0.
bool block_constrained(const ModelConfig& config, const StagePlan& plan, int block);

// Parameters a stage allocates (its blocks, plus embeddings on stage 0, or on every stage under the
// subspace constraint, and the head on the last).
std::int64_t stage_parameters(const ModelConfig& config, const StagePlan& plan);
// N in the DESIGN.md FLOP formula: the stage's block parameters (no embeddings, no head).
std::int64_t stage_non_embedding_parameters(const ModelConfig& config, const StagePlan& plan);
// Training FLOPs per token of this stage by the DESIGN.md formula (forward 2N + 4·L·d·T, ×3).
double stage_training_flops_per_token(const ModelConfig& config, const StagePlan& plan);

struct MemoryEstimate {
  std::int64_t parameters = 0;   // bytes of fp32 weights
  std::int64_t gradients = 0;    // bytes of fp32 gradients
  std::int64_t optimizer = 0;    // AdamW's two moments
  std::int64_t activations = 0;  // stashed for the in-flight micro-batches
  std::int64_t total() const { return parameters + gradients + optimizer + activations; }
};

// fp32 training memory of one stage holding `in_flight` micro-batches of `micro_batch_size`
// sequences at once (activations per block after Korthikanti et al.: s·b·d·(34 + 5·a·s/d)
// values in 16-bit, doubled for fp32).
MemoryEstimate estimate_stage_memory(const ModelConfig& config, const StagePlan& plan, int micro_batch_size,
                                     int in_flight);

std::string format_bytes(std::int64_t bytes);  // "1.5 GiB"

}  // namespace tessera::model

// What a run asks of each stage, from its manifest alone: parameters, training memory, training
// FLOPs per token and pipeline link bytes per token at the run's codec. The one place these numbers
// are computed: `tessera-hub init` prints them, the hub's catalog publishes them and the peer
// directory admits stages by them, a node's fit compares them with its device. Pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "core/protocol/manifest.h"

namespace tessera::protocol {

struct StageNeeds {
  int stage = 0;
  std::int64_t parameters = 0;     // the stage's allocated parameters (shared embeddings included)
  std::uint64_t memory_bytes = 0;  // fp32 training with every micro-batch of a step in flight
  double flops_per_token = 0;      // training FLOPs (forward + backward) per trained token
  // Boundary payload bytes this stage sends plus receives per trained token: activations forward
  // and their gradients back, on each of its one or two pipeline links, at the run's codec. Not
  // counted: wire headers, token ids, the once-per-step shared embedding sum of a subspace run and
  // replica averaging (per step, not per token).
  double bytes_per_token = 0;
};

struct RunNeeds {
  std::int64_t parameters = 0;  // the whole model's (shared embeddings counted once)
  std::vector<StageNeeds> stages;
};

// Throws std::invalid_argument for a manifest that does not describe a valid split or codec.
RunNeeds run_needs(const RunManifest& manifest);

// What a stage needs in memory to be served: fp32 training with every micro-batch of a step in
// flight, as the swarm's pipeline schedule keeps them (and as a node's Stage budgets).
std::vector<std::uint64_t> stage_memory_bytes(const RunManifest& manifest);

// Values per token on a stage boundary: the subspace rank under the subspace constraint, else the width.
std::int64_t boundary_values(const model::ModelConfig& config);

}  // namespace tessera::protocol

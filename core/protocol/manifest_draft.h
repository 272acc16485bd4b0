// A run manifest from the few choices a publisher makes (`tessera-hub init`): the model's shape,
// its split, the boundary codec, the data, the price and the epoch; every other field takes the
// defaults of model::ModelConfig and model::TrainConfig. Unsigned: the caller signs it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/protocol/manifest.h"

namespace tessera::protocol {

struct RunChoices {
  std::string run_id;
  int layers = model::ModelConfig{}.layers;
  int width = model::ModelConfig{}.width;
  int heads = 0;  // 0: default_heads(width)
  int context = model::ModelConfig{}.context;
  int stages = 1;
  std::string codec = "none";
  int subspace_rank = 0;             // the subspace codec only; 0: default_subspace_rank(width)
  std::vector<ManifestShard> shards; // empty: the arithmetic corpus
  std::uint64_t price_per_1k_tokens = 0;  // micro-units of `currency`
  std::string currency = "USDC";
  std::int64_t epoch_seconds = 3600;
  int total_steps = model::TrainConfig{}.total_steps;
  std::uint64_t data_units_per_1k_tokens = 0;
  wallet::PublicKey hub_key{};
};

// Heads of 64 dimensions where the width allows, else the most heads up to width / 64 that divide it.
int default_heads(int width);
// width / 8, at most 64 (and at least 1).
int default_subspace_rank(int width);

// Throws std::invalid_argument with a message naming the choice and what to do (width not
// divisible by heads, more stages than layers, a rank without the subspace codec…). The result
// has passed manifest_from_json's validation.
RunManifest draft_manifest(const RunChoices& choices);

}  // namespace tessera::protocol

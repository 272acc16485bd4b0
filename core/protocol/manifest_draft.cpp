// Choices → manifest: defaults, the checks that name the choice, then the manifest's own validation.
#include "core/protocol/manifest_draft.h"

#include <algorithm>
#include <stdexcept>

#include "core/model/codec.h"

namespace tessera::protocol {
namespace {

[[noreturn]] void refuse(const std::string& why) { throw std::invalid_argument(why); }

void check_range(const char* name, std::int64_t value, std::int64_t low, std::int64_t high) {
  if (value < low || value > high)
    refuse(std::string(name) + " " + std::to_string(value) + " is outside " + std::to_string(low) + ".." +
           std::to_string(high));
}

model::ModelConfig model_of(const RunChoices& c) {
  check_range("layers", c.layers, 1, 1024);
  check_range("width", c.width, 1, 65536);
  check_range("context", c.context, 1, 1 << 20);
  check_range("heads", c.heads, 0, 4096);
  model::ModelConfig config;
  config.layers = c.layers;
  config.width = c.width;
  config.context = c.context;
  config.heads = c.heads > 0 ? c.heads : default_heads(c.width);
  if (config.width % config.heads != 0)
    refuse("width " + std::to_string(c.width) + " is not divisible by heads " + std::to_string(c.heads) +
           ": choose a head count that divides the width (e.g. " + std::to_string(default_heads(c.width)) + ")");
  const bool subspace = model::parse_codec(c.codec) == model::CodecKind::subspace;  // throws, naming the codecs
  if (!subspace && c.subspace_rank != 0)
    refuse("a subspace rank applies only to the subspace codec (the codec is " + c.codec + ")");
  if (subspace) {
    config.subspace_rank = c.subspace_rank != 0 ? c.subspace_rank : default_subspace_rank(c.width);
    if (config.subspace_rank < 1 || config.subspace_rank > c.width)
      refuse("subspace rank " + std::to_string(c.subspace_rank) + " must be between 1 and the width " +
             std::to_string(c.width));
  }
  return config;
}

}  // namespace

int default_heads(int width) {
  for (int heads = std::max(1, width / 64); heads > 1; --heads)
    if (width % heads == 0) return heads;
  return 1;
}

int default_subspace_rank(int width) { return std::clamp(width / 8, 1, 64); }

RunManifest draft_manifest(const RunChoices& c) {
  if (!valid_run_id(c.run_id)) refuse("run id '" + c.run_id + "' must be 1 to 64 of A-Z a-z 0-9 . _ -");
  RunManifest m;
  m.run_id = c.run_id;
  m.model = model_of(c);
  if (c.stages < 1 || c.stages > c.layers)
    refuse("stages " + std::to_string(c.stages) + " must be between 1 and the layers (" + std::to_string(c.layers) +
           "): a stage holds at least one layer");
  m.stages = c.stages;
  m.codec = c.codec;
  check_range("epoch seconds", c.epoch_seconds, 1, 366LL * 24 * 3600);
  m.epoch_seconds = c.epoch_seconds;
  check_range("total steps", c.total_steps, 1, 1'000'000'000);
  m.train.total_steps = c.total_steps;
  m.train.warmup_steps = std::min(m.train.warmup_steps, c.total_steps);
  if (c.currency.empty() || c.currency.size() > 16) refuse("currency must be 1 to 16 characters");
  m.currency = c.currency;
  m.price_per_1k_tokens = c.price_per_1k_tokens;
  m.data_units_per_1k_tokens = c.data_units_per_1k_tokens;
  m.shards = c.shards;
  if (c.shards.empty()) m.dataset = {"arithmetic"};
  for (const auto& shard : c.shards) m.dataset.push_back(shard.hash);
  m.hub_key = c.hub_key;
  if (m.hub_key == wallet::PublicKey{}) refuse("the hub key is missing");
  manifest_from_json(to_json(m));  // the manifest's own validation (shards, bounds), as a hub will run it
  return m;
}

}  // namespace tessera::protocol

// Per-stage needs of a run from the model's shape, its split and its codec (model_config.h, codec.h).
#include "core/protocol/run_needs.h"

#include "core/model/codec.h"
#include "core/model/model_config.h"

namespace tessera::protocol {
namespace {

std::uint64_t memory_of(const RunManifest& manifest, const model::StagePlan& plan) {
  return static_cast<std::uint64_t>(model::estimate_stage_memory(manifest.model, plan, manifest.train.micro_batch_size,
                                                                 manifest.train.micro_batches)
                                        .total());
}

// The learned token and position embeddings, and the final LayerNorm with the output head.
std::int64_t embedding_parameters(const model::ModelConfig& config) {
  return (std::int64_t{config.vocab} + config.context) * config.width;
}
std::int64_t head_parameters(const model::ModelConfig& config) {
  const std::int64_t d = config.width;
  return 2 * d + d * config.vocab + config.vocab;
}

}  // namespace

std::int64_t boundary_values(const model::ModelConfig& config) {
  return config.subspace_rank > 0 ? config.subspace_rank : config.width;
}

std::vector<std::uint64_t> stage_memory_bytes(const RunManifest& manifest) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < manifest.stages; ++i) out.push_back(memory_of(manifest, model::plan_stage(manifest.model, manifest.stages, i)));
  return out;
}

RunNeeds run_needs(const RunManifest& manifest) {
  const auto codec = model::parse_codec(manifest.codec);
  // One direction of one boundary: the activations forward, or their gradient back (same codec, same shape).
  const double link_bytes = static_cast<double>(model::payload_bytes_per_token(codec, boundary_values(manifest.model)));
  RunNeeds needs;
  needs.parameters = embedding_parameters(manifest.model) + head_parameters(manifest.model);
  for (int i = 0; i < manifest.stages; ++i) {
    const auto plan = model::plan_stage(manifest.model, manifest.stages, i);
    StageNeeds stage;
    stage.stage = i;
    stage.parameters = model::stage_parameters(manifest.model, plan);
    stage.memory_bytes = memory_of(manifest, plan);
    stage.flops_per_token = model::stage_training_flops_per_token(manifest.model, plan);
    const int links = (plan.has_embedding() ? 0 : 1) + (plan.has_head() ? 0 : 1);
    stage.bytes_per_token = 2.0 * links * link_bytes;
    needs.parameters += model::stage_non_embedding_parameters(manifest.model, plan);
    needs.stages.push_back(stage);
  }
  return needs;
}

}  // namespace tessera::protocol

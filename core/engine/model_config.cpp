// Model shapes and parameter counts (no libtorch, so anything may include model_config.h).
#include "core/engine/model_config.h"

namespace tessera::engine {

ModelConfig demo_model_config() { return ModelConfig{}; }

std::int64_t non_embedding_parameters(const ModelConfig& config) {
  const std::int64_t d = config.width;
  // attention: qkv (3d² + 3d) and projection (d² + d); MLP: d→4d→d (8d² + 5d); two LayerNorms (4d).
  const std::int64_t per_block = 12 * d * d + 13 * d;
  return per_block * config.layers;
}

}  // namespace tessera::engine

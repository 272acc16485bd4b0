// The transformer's shape as a run manifest carries it: a plain struct, no libtorch.
#pragma once

#include <cstdint>

namespace tessera::engine {

struct ModelConfig {
  int layers = 4;
  int width = 256;  // d_model
  int heads = 4;
  int context = 128;  // tokens per sequence
  int vocab = 256;    // byte-level tokenizer
  double dropout = 0.0;
  std::uint64_t seed = 1;
};

// The model `tessera-node demo` trains and `doctor` quotes its tokens/s for.
ModelConfig demo_model_config();

// Parameters outside the embeddings and the output head: 12·d² per block plus LayerNorms.
std::int64_t non_embedding_parameters(const ModelConfig& config);

}  // namespace tessera::engine

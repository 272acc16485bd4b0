// The GPT as libtorch modules (pytorch/examples style): a transformer block and the part of the
// model one stage holds, with the seeded initialisation that makes every partition start from the
// same weights. Internal to the engine's torch translation units (core/engine/*.cpp in the
// tessera_engine library), which see libtorch through the precompiled header
// core/backend/torch_pch.h; nothing else may include it.
#pragma once

#ifndef TORCH_VERSION_MAJOR
#error "core/backend/gpt_modules.h is for the engine's torch translation units: include core/backend/torch_pch.h first"
#endif

#include <cstdint>
#include <string>
#include <vector>

#include "core/engine/model_types.h"

namespace tessera::engine {

// SplitMix64's finaliser: turns a seed and a tag into an independent-looking 64-bit seed.
std::uint64_t mix(std::uint64_t x);
// FNV-1a of a name: a parameter's seed is mix(run seed ^ fnv1a(name)).
std::uint64_t fnv1a(const std::string& text);
at::Generator seeded_generator(std::uint64_t seed);

struct BlockImpl : torch::nn::Module {
  // `shared_basis` ([d, r]) constrains the block's writes to the subspace; undefined otherwise.
  BlockImpl(const ModelConfig& config, torch::Tensor shared_basis);

  torch::Tensor forward(torch::Tensor x, const torch::Tensor& causal_mask, at::Generator& gen);
  // Inference with a KV cache, in eval mode (no dropout): x [m, n, d] holds n new positions of m
  // sequences; keys[i] / values[i] are sequence i's cached [heads, L_i, head_dim] (undefined when
  // L_i = 0) and are replaced by the extended [heads, L_i + n, head_dim]. The linear layers run
  // once over the whole batch, attention per sequence against its own cache, with forward()'s
  // scaling and causal mask, so the result matches a full forward pass up to float rounding.
  torch::Tensor forward_cached(torch::Tensor x, std::vector<torch::Tensor>& keys, std::vector<torch::Tensor>& values,
                               const torch::Tensor& causal_mask);

  int out_width(const ModelConfig& config) const;
  // Under the subspace constraint a block writes r coefficients that the shared basis lifts
  // into the residual stream: the stream stays token table + span(basis).
  torch::Tensor lift(const torch::Tensor& y) const;

  std::int64_t heads;
  double dropout_p;
  torch::Tensor basis;  // [d, r], undefined when unconstrained
  torch::nn::LayerNorm ln1;
  torch::nn::Linear qkv, proj;
  torch::nn::LayerNorm ln2;
  torch::nn::Linear fc, down;
};
TORCH_MODULE(Block);

// The part of the GPT one stage holds. Parameter names are global ("block3.qkv.weight"), so the
// same parameter gets the same name, seed and initial value in any partition.
struct StageModuleImpl : torch::nn::Module {
  StageModuleImpl(const ModelConfig& model_config, const StagePlan& stage_plan);

  // GPT-2 initialisation, each parameter from its own generator seeded by (run seed, name).
  void initialise();

  static bool holds_embedding(const ModelConfig& config, const StagePlan& plan);

  // The embedding of token ids [b, t]: token table rows plus the position embedding.
  torch::Tensor embed(const torch::Tensor& tokens);
  // The same at explicit positions [b, t] (a KV-cache decode step: each row starts elsewhere).
  torch::Tensor embed_at(const torch::Tensor& tokens, const torch::Tensor& positions);

  // What goes on the wire for this stream, and back. Under the subspace constraint the stream is
  // embed(ids) + U·c exactly (every write that reaches a boundary lies in span(U)), so r
  // coefficients c = Uᵀ(stream − embed(ids)) carry all of it.
  torch::Tensor to_boundary(const torch::Tensor& stream, const torch::Tensor& tokens);
  torch::Tensor from_boundary(const torch::Tensor& received, const torch::Tensor& tokens);
  // to_boundary / from_boundary for tokens at explicit positions [b, t].
  torch::Tensor to_boundary_at(const torch::Tensor& stream, const torch::Tensor& tokens, const torch::Tensor& positions);
  torch::Tensor from_boundary_at(const torch::Tensor& received, const torch::Tensor& tokens,
                                 const torch::Tensor& positions);

  // The parameters every stage of a subspace pipeline holds a copy of, in a fixed order.
  std::vector<torch::Tensor> shared_parameters() const;

  torch::Tensor run_blocks(torch::Tensor x, const torch::Tensor& causal_mask, at::Generator& gen);
  torch::Tensor logits(const torch::Tensor& x);

  ModelConfig config;
  StagePlan plan;
  torch::Tensor basis, pos_emb;
  torch::nn::Embedding tok_emb = nullptr;
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f = nullptr;
  torch::nn::Linear head = nullptr;
};
TORCH_MODULE(StageModule);

}  // namespace tessera::engine

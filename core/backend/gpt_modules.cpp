// The GPT modules: attention and MLP blocks, the stage's slice of the model, seeded initialisation.
#include "core/backend/torch_pch.h"

#include "core/backend/gpt_modules.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <utility>

namespace tessera::engine {

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

at::Generator seeded_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

namespace {

// The subspace every stage shares: an orthonormal d×r basis derived from the run seed alone, so
// no stage has to send it to another.
torch::Tensor subspace_basis(const ModelConfig& config) {
  auto gen = seeded_generator(mix(config.seed ^ 0x5355425350414345ULL));
  const auto random = at::randn({config.width, config.subspace_rank}, gen, torch::kFloat32);
  auto [q, r] = torch::linalg_qr(random);
  return q.contiguous();
}

// Dropout from a stage-owned generator, so that a checkpoint can restore the exact stream.
torch::Tensor dropout(const torch::Tensor& x, double p, bool training, at::Generator& gen) {
  if (!training || p <= 0.0) return x;
  // bernoulli_ takes the generator's lock itself.
  const auto keep = at::empty(x.sizes(), torch::kFloat32).bernoulli_(1.0 - p, gen);
  return x * keep.to(x.device()) / (1.0 - p);
}

}  // namespace

// --- Block ---------------------------------------------------------------------------------------

BlockImpl::BlockImpl(const ModelConfig& config, torch::Tensor shared_basis)
    : heads(config.heads),
      dropout_p(config.dropout),
      basis(std::move(shared_basis)),
      ln1(register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.width})))),
      qkv(register_module("qkv", torch::nn::Linear(config.width, 3 * config.width))),
      proj(register_module("proj", torch::nn::Linear(config.width, out_width(config)))),
      ln2(register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.width})))),
      fc(register_module("fc", torch::nn::Linear(config.width, 4 * config.width))),
      down(register_module("down", torch::nn::Linear(4 * config.width, out_width(config)))) {}

int BlockImpl::out_width(const ModelConfig& config) const {
  return basis.defined() ? config.subspace_rank : config.width;
}

torch::Tensor BlockImpl::lift(const torch::Tensor& y) const { return basis.defined() ? torch::matmul(y, basis.t()) : y; }

torch::Tensor BlockImpl::forward(torch::Tensor x, const torch::Tensor& causal_mask, at::Generator& gen) {
  const auto b = x.size(0), t = x.size(1), d = x.size(2);
  const auto head_dim = d / heads;
  auto parts = qkv(ln1(x)).split(d, /*dim=*/2);
  auto shape = [&](const torch::Tensor& z) { return z.view({b, t, heads, head_dim}).transpose(1, 2); };
  auto q = shape(parts[0]), k = shape(parts[1]), v = shape(parts[2]);
  torch::Tensor y;
#if TORCH_VERSION_MAJOR >= 2
  // libtorch 2.x: the fused kernel (flash or memory-efficient attention on CUDA). Dropout on the
  // attention weights stays ours below, drawn from the stage's generator.
  if (dropout_p == 0.0 || !is_training()) {
    y = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true);
  } else
#endif
  {
    auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
    scores = scores.masked_fill(causal_mask.slice(0, 0, t).slice(1, 0, t), -std::numeric_limits<float>::infinity());
    y = torch::matmul(dropout(torch::softmax(scores, -1), dropout_p, is_training(), gen), v);
  }
  y = y.transpose(1, 2).contiguous().view({b, t, d});
  x = x + dropout(lift(proj(y)), dropout_p, is_training(), gen);
  auto h = down(torch::gelu(fc(ln2(x))));
  return x + dropout(lift(h), dropout_p, is_training(), gen);
}

torch::Tensor BlockImpl::forward_cached(torch::Tensor x, std::vector<torch::Tensor>& keys,
                                        std::vector<torch::Tensor>& values, const torch::Tensor& causal_mask) {
  const auto m = x.size(0), n = x.size(1), d = x.size(2);
  const auto head_dim = d / heads;
  auto parts = qkv(ln1(x)).split(d, /*dim=*/2);
  auto shape = [&](const torch::Tensor& z) { return z.view({m, n, heads, head_dim}).transpose(1, 2); };
  auto q = shape(parts[0]), k = shape(parts[1]), v = shape(parts[2]);
  std::vector<torch::Tensor> attended;
  attended.reserve(static_cast<std::size_t>(m));
  for (std::int64_t i = 0; i < m; ++i) {
    auto& key = keys[static_cast<std::size_t>(i)];
    auto& value = values[static_cast<std::size_t>(i)];
    // clone: a first slice would otherwise keep the whole batch's qkv output alive in the cache.
    key = key.defined() ? torch::cat({key, k[i]}, 1) : k[i].clone(at::MemoryFormat::Contiguous);
    value = value.defined() ? torch::cat({value, v[i]}, 1) : v[i].clone(at::MemoryFormat::Contiguous);
    const auto past = key.size(1) - n;
    auto scores = torch::matmul(q[i], key.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
    scores = scores.masked_fill(causal_mask.slice(0, past, past + n).slice(1, 0, past + n),
                                -std::numeric_limits<float>::infinity());
    attended.push_back(torch::matmul(torch::softmax(scores, -1), value));
  }
  auto y = torch::stack(attended).transpose(1, 2).contiguous().view({m, n, d});
  x = x + lift(proj(y));
  return x + lift(down(torch::gelu(fc(ln2(x)))));
}

// --- StageModule ---------------------------------------------------------------------------------

StageModuleImpl::StageModuleImpl(const ModelConfig& model_config, const StagePlan& stage_plan)
    : config(model_config), plan(stage_plan) {
  if (config.subspace_rank > 0) basis = register_buffer("basis", subspace_basis(config));
  // The learned token and position embeddings. Under the subspace constraint every stage holds a
  // copy: it recomputes them from the token ids to rebuild the stream from r coefficients
  // (the copies stay equal because every stage steps them with the same summed gradient).
  if (holds_embedding(config, plan)) {
    tok_emb = register_module("tok_emb", torch::nn::Embedding(config.vocab, config.width));
    pos_emb = register_parameter("pos_emb", torch::empty({config.context, config.width}));
  }
  for (int i = plan.first_block; i < plan.end_block; ++i)
    blocks.push_back(register_module("block" + std::to_string(i),
                                     Block(config, block_constrained(config, plan, i) ? basis : torch::Tensor())));
  if (plan.has_head()) {
    ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.width})));
    head = register_module("head", torch::nn::Linear(config.width, config.vocab));
  }
  initialise();
}

void StageModuleImpl::initialise() {
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * config.layers);
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    auto gen = seeded_generator(mix(config.seed ^ fnv1a(name)));
    const bool layer_norm = name.find("ln") != std::string::npos;
    if (name.ends_with(".bias")) {
      p.zero_();
    } else if (layer_norm) {
      p.fill_(1.0);
    } else if (name.ends_with("proj.weight") || name.ends_with("down.weight")) {
      p.normal_(0.0, residual_std, gen);
    } else {
      p.normal_(0.0, 0.02, gen);
    }
  }
}

bool StageModuleImpl::holds_embedding(const ModelConfig& config, const StagePlan& plan) {
  return plan.has_embedding() || config.subspace_rank > 0;
}

torch::Tensor StageModuleImpl::embed(const torch::Tensor& tokens) {
  return tok_emb->forward(tokens) + pos_emb.slice(0, 0, tokens.size(1));
}

torch::Tensor StageModuleImpl::embed_at(const torch::Tensor& tokens, const torch::Tensor& positions) {
  const auto rows = pos_emb.index_select(0, positions.reshape({-1})).view({tokens.size(0), tokens.size(1), -1});
  return tok_emb->forward(tokens) + rows;
}

torch::Tensor StageModuleImpl::to_boundary_at(const torch::Tensor& stream, const torch::Tensor& tokens,
                                              const torch::Tensor& positions) {
  if (config.subspace_rank == 0) return stream;
  return torch::matmul(stream - embed_at(tokens, positions), basis);
}

torch::Tensor StageModuleImpl::from_boundary_at(const torch::Tensor& received, const torch::Tensor& tokens,
                                                const torch::Tensor& positions) {
  if (config.subspace_rank == 0) return received;
  return embed_at(tokens, positions) + torch::matmul(received, basis.t());
}

torch::Tensor StageModuleImpl::to_boundary(const torch::Tensor& stream, const torch::Tensor& tokens) {
  if (config.subspace_rank == 0) return stream;
  return torch::matmul(stream - embed(tokens), basis);
}

torch::Tensor StageModuleImpl::from_boundary(const torch::Tensor& received, const torch::Tensor& tokens) {
  if (config.subspace_rank == 0) return received;
  return embed(tokens) + torch::matmul(received, basis.t());
}

std::vector<torch::Tensor> StageModuleImpl::shared_parameters() const {
  if (config.subspace_rank == 0 || plan.count == 1) return {};
  return {tok_emb->weight, pos_emb};
}

torch::Tensor StageModuleImpl::run_blocks(torch::Tensor x, const torch::Tensor& causal_mask, at::Generator& gen) {
  for (auto& block : blocks) x = block->forward(x, causal_mask, gen);
  return x;
}

torch::Tensor StageModuleImpl::logits(const torch::Tensor& x) { return head->forward(ln_f->forward(x)); }

}  // namespace tessera::engine

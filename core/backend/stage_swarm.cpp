// The Stage's part in the swarm: abandoning a step, skipping ahead, moving gradients and weights
// between replicas, and forward-only inference (whole windows, and decode with a KV cache; the
// cache itself is core/backend/inference_cache.h). The rest of Stage is stage.cpp.
#include "core/backend/torch_pch.h"

#include "core/backend/stage_impl.h"

namespace tessera::engine {
namespace {

// A flattened vector for every parameter of `stage` (gradients or weights): the right length and
// finite, else std::invalid_argument naming `what`.
void check_flat(const std::vector<float>& values, std::int64_t count, int stage, const char* what) {
  if (static_cast<std::int64_t>(values.size()) != count)
    throw std::invalid_argument(std::string(what) + " vector has " + std::to_string(values.size()) + " values, stage " +
                                std::to_string(stage) + " has " + std::to_string(count) + " parameters");
  for (const float value : values)
    if (!std::isfinite(value)) throw std::invalid_argument(std::string(what) + " vector holds a non-finite value");
}

// Calls `install(parameter, values of it on the host)` for each parameter in order.
template <typename Install>
void for_each_flat(StageModule& module, const std::vector<float>& values, Install&& install) {
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& p : module->parameters()) {
    install(p, torch::from_blob(const_cast<float*>(values.data() + offset), p.sizes(), torch::kFloat32));
    offset += static_cast<std::size_t>(p.numel());
  }
}

}  // namespace

// --- swarm support: abandon a step, move gradients between replicas, inference logits --------

void TorchStage::discard_step() {
  auto& s = *impl_;
  s.stash.clear();
  s.optimizer->zero_grad();
  s.shared_gradient_pending = false;  // like load(): the abandoned step's shared part is gone too
}

void TorchStage::skip_to(std::int64_t step) {
  if (step <= impl_->step) throw std::invalid_argument("a stage skips only forward, to a step after its own");
  discard_step();
  impl_->step = step;
}

std::vector<float> TorchStage::gradient_vector() const {
  const auto& s = *impl_;
  torch::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(parameter_count()));
  for (const auto& p : s.module->parameters()) {
    if (!p.grad().defined()) {
      out.insert(out.end(), static_cast<std::size_t>(p.numel()), 0.0f);
      continue;
    }
    const auto cpu = p.grad().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    out.insert(out.end(), cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
  }
  return out;
}

std::vector<std::vector<std::int64_t>> TorchStage::parameter_shapes() const {
  std::vector<std::vector<std::int64_t>> out;
  for (const auto& p : impl_->module->parameters()) out.push_back(p.sizes().vec());
  return out;
}

void TorchStage::set_gradient_vector(const std::vector<float>& values) {
  auto& s = *impl_;
  check_flat(values, parameter_count(), s.plan.index, "gradient");
  for_each_flat(s.module, values,
                [](torch::Tensor& p, const torch::Tensor& host) { p.mutable_grad() = host.to(p.device()).clone(); });
}

std::vector<float> TorchStage::parameter_vector() const {
  torch::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(parameter_count()));
  for (const auto& p : impl_->module->parameters()) {
    const auto cpu = p.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    out.insert(out.end(), cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
  }
  return out;
}

void TorchStage::set_parameter_vector(const std::vector<float>& values) {
  auto& s = *impl_;
  check_flat(values, parameter_count(), s.plan.index, "parameter");
  for_each_flat(s.module, values, [](torch::Tensor& p, const torch::Tensor& host) { p.copy_(host.to(p.device())); });
  s.cache.clear();  // the sessions' keys and values came from other weights
}

std::vector<float> TorchStage::last_position_logits(const ForwardMessage& input) {
  auto& s = *impl_;
  if (!s.plan.has_head()) throw std::logic_error("only the last stage computes logits");
  return s.forward_without_grad(input, [&](const torch::Tensor&, const torch::Tensor&, const torch::Tensor& stream) {
    const auto last = s.module->logits(stream).select(1, input.sequence - 1).to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(last.data_ptr<float>(), last.data_ptr<float>() + last.numel());
  });
}

// --- inference with a KV cache -------------------------------------------------------------------

std::vector<DecodeOutcome> TorchStage::decode(const std::vector<DecodeEntry>& batch) {
  auto& s = *impl_;
  const auto inputs = s.decode_inputs(batch);
  Impl::InferenceScope scope{s.module, s.bf16};
  s.cache.expire(clock::now());
  std::vector<DecodeOutcome> outcomes(batch.size());
  // Single-position extensions go through the blocks together; prefills and longer extensions
  // each on their own (their position counts differ). Sequences are copied out before any store
  // can evict them.
  std::vector<std::size_t> steps;
  std::vector<CachedSequence> step_sequences;
  std::vector<std::pair<std::size_t, CachedSequence>> passes;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& entry = batch[i];
    if (entry.start == 0) s.cache.drop(entry.session);
    const auto* held = entry.start > 0 ? s.cache.find(entry.session, entry.start) : nullptr;
    if (entry.start > 0 && held == nullptr) {
      outcomes[i].missing = true;
    } else if (held != nullptr && entry.tokens.size() == 1) {
      steps.push_back(i);
      step_sequences.push_back(*held);
    } else {
      passes.emplace_back(i, held != nullptr ? *held : CachedSequence{});
    }
  }
  if (!steps.empty()) s.decode_pass(batch, inputs, steps, std::move(step_sequences), outcomes);
  for (auto& [i, sequence] : passes) s.decode_pass(batch, inputs, {i}, {std::move(sequence)}, outcomes);
  s.sync();
  return outcomes;
}

InferenceCacheStats TorchStage::inference_cache_stats() const { return impl_->cache.stats(); }

void TorchStage::drop_inference_session(std::uint64_t session) { impl_->cache.drop(session); }

}  // namespace tessera::engine

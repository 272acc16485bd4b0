// The state of one Stage (stage.h) and the passes it runs, shared by the engine's translation units
// that implement Stage: stage.cpp (construction, training, checkpoints) and stage_swarm.cpp (the
// swarm's exchanges and inference with a KV cache). Internal to the engine's torch translation
// units, like gpt_modules.h: include core/backend/torch_pch.h first.
#pragma once

#ifndef TORCH_VERSION_MAJOR
#error "core/backend/stage_impl.h is for the engine's torch translation units: include core/backend/torch_pch.h first"
#endif

#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "core/backend/torch_probe.h"
#include "core/backend/gpt_modules.h"
#include "core/backend/gpt_training.h"
#include "core/backend/heap_tuning.h"
#include "core/backend/device.h"
#include "core/backend/device_codec.h"
#include "core/backend/inference_cache.h"
#include "core/backend/torch_stage.h"

namespace tessera::engine {

// A tensor onto the wire: on CUDA encoded on the device (device_codec.h), on the CPU straight from
// its float32 buffer (no intermediate copy).
inline Payload encode_tensor(CodecKind codec, const torch::Tensor& tensor, Rounding rounding = Rounding::nearest) {
  if (tensor.is_cuda()) return encode_on_device(codec, tensor, rounding);
  const auto cpu = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return encode(codec, std::vector<std::int64_t>(cpu.sizes().begin(), cpu.sizes().end()), cpu.data_ptr<float>(),
                rounding);
}

// A payload off the wire, checked against the codec and shape this stage expects and decoded
// straight into a new tensor's buffer; throws before anything else is touched.
inline torch::Tensor decode_tensor(const Payload& payload, CodecKind codec, const std::vector<std::int64_t>& shape,
                            const torch::Device& device) {
  if (device.is_cuda()) return decode_on_device(payload, codec, shape, device);
  auto values = torch::empty(shape, torch::kFloat32);
  decode(payload, codec, shape, values.data_ptr<float>());
  return values.to(device);
}

struct TorchStage::Impl {
  struct Stash {
    torch::Tensor input;   // leaf that receives the incoming gradient (undefined on stage 0)
    torch::Tensor output;  // boundary tensor, or the scaled loss on the last stage
    std::int64_t tokens = 0;
  };

  StageOptions options;
  StagePlan plan;
  MemoryEstimate memory;
  torch::Device device{torch::kCPU};
  StageModule module{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  at::Generator generator;
  torch::Tensor causal_mask;
  std::map<std::int64_t, Stash> stash;
  std::int64_t step = 0;
  bool bf16 = false;  // forward computations under bf16 autocast (device.h)
  std::unique_ptr<DeviceMemoryCap> memory_cap;  // this stage's share of the device's allocator cap
  // A backward ran since the shared embeddings' gradient was last summed across the stages.
  bool shared_gradient_pending = false;
  double forward_flops_per_token = 0.0;
  InferenceCache cache{0, std::chrono::seconds(0)};  // set from the options in the constructor

  // No gradients and eval mode (no dropout) while it lives, under the stage's precision; training
  // mode again after.
  struct InferenceScope {
    InferenceScope(StageModule& m, bool bf16) : autocast(bf16), module(m) { module->eval(); }
    ~InferenceScope() { module->train(); }
    InferenceScope(const InferenceScope&) = delete;
    InferenceScope& operator=(const InferenceScope&) = delete;
    torch::NoGradGuard no_grad;
    AutocastScope autocast;
    StageModule& module;
  };

  // One checked decode entry on the device: token ids and positions [1, n], and on stages after
  // the first the decoded boundary input [1, n, boundary values].
  struct DecodeInput {
    torch::Tensor tokens, positions, received;
  };

  std::int64_t boundary_width() const {
    return options.model.subspace_rank > 0 ? options.model.subspace_rank : options.model.width;
  }

  void check_tokens(const ForwardMessage& input) const {
    const auto bad = [](const std::string& what) { throw std::invalid_argument("boundary input rejected: " + what); };
    if (input.batch < 1) bad("micro-batch " + std::to_string(input.micro_batch) + " has no sequences");
    if (input.sequence < 1 || input.sequence > options.model.context)
      bad("sequence length " + std::to_string(input.sequence) + " is outside 1.." + std::to_string(options.model.context));
    const auto expected = static_cast<std::size_t>(input.batch) * static_cast<std::size_t>(input.sequence + 1);
    if (input.tokens.size() != expected)
      bad("expected " + std::to_string(expected) + " token ids, got " + std::to_string(input.tokens.size()));
    for (auto token : input.tokens)
      if (token < 0 || token >= options.model.vocab)
        bad("token id " + std::to_string(token) + " is outside the vocabulary of " + std::to_string(options.model.vocab));
  }

  std::vector<std::int64_t> boundary_shape(const ForwardMessage& input) const {
    return {input.batch, input.sequence, boundary_width()};
  }

  // Decoded input as a leaf on the device, or the embedding on stage 0.
  std::pair<torch::Tensor, torch::Tensor> stream_in(const ForwardMessage& input, const torch::Tensor& inputs,
                                                    bool need_grad) {
    if (plan.has_embedding()) return {torch::Tensor(), module->embed(inputs)};
    auto leaf = decode_tensor(input.activations, options.codec, boundary_shape(input), device);
    if (need_grad) leaf.requires_grad_(true);
    return {leaf, module->from_boundary(leaf, inputs)};
  }

  void sync() const {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  }

  // A forward pass without gradients, stash or dropout (evaluation, inference): `finish` gets the
  // token ids [b, T + 1], the inputs [b, T] and the stream after this stage's blocks, still in
  // eval mode and under no_grad.
  template <typename Finish>
  auto forward_without_grad(const ForwardMessage& input, Finish finish) {
    check_tokens(input);
    InferenceScope scope{module, bf16};
    const auto all = tokens_tensor(input.tokens, input.batch, input.sequence + 1).to(device);
    const auto inputs = all.slice(1, 0, input.sequence);
    auto stream = stream_in(input, inputs, false).second;
    stream = module->run_blocks(stream, causal_mask, generator);
    return finish(all, inputs, stream);
  }

  // Every entry checked and its payload decoded before anything changes; throws otherwise.
  std::vector<DecodeInput> decode_inputs(const std::vector<DecodeEntry>& batch) const {
    if (batch.empty()) throw std::invalid_argument("decode batch rejected: it has no entries");
    std::set<std::uint64_t> sessions;
    std::vector<DecodeInput> inputs;
    for (const auto& entry : batch) {
      if (!sessions.insert(entry.session).second)
        throw std::invalid_argument("decode batch rejected: session " + std::to_string(entry.session) +
                                    " appears more than once");
      inputs.push_back(decode_input(entry));
    }
    return inputs;
  }

  DecodeInput decode_input(const DecodeEntry& entry) const {
    const auto bad = [&](const std::string& what) {
      throw std::invalid_argument("decode batch rejected: session " + std::to_string(entry.session) + ": " + what);
    };
    const auto n = static_cast<std::int64_t>(entry.tokens.size());
    if (n == 0) bad("it has no tokens");
    if (entry.start < 0 || entry.start + n > options.model.context)
      bad("positions " + std::to_string(entry.start) + ".." + std::to_string(entry.start + n - 1) +
          " are outside the context 0.." + std::to_string(options.model.context - 1));
    for (auto token : entry.tokens)
      if (token < 0 || token >= options.model.vocab)
        bad("token id " + std::to_string(token) + " is outside the vocabulary of " + std::to_string(options.model.vocab));
    DecodeInput input;
    input.tokens = tokens_tensor(entry.tokens, 1, static_cast<int>(n)).to(device);
    input.positions = torch::arange(entry.start, entry.start + n, torch::kInt64).view({1, n}).to(device);
    if (plan.has_embedding()) {
      if (!entry.activations.bytes.empty() || !entry.activations.shape.empty())
        bad("stage 0 takes token ids only: its activations must be empty");
      return input;
    }
    try {
      input.received = decode_tensor(entry.activations, options.codec, {1, n, boundary_width()}, device);
    } catch (const std::invalid_argument& error) {
      bad(error.what());
    }
    return input;
  }

  // One pass through the blocks for `members`, entries that all add the same number of positions
  // to their `sequences`; fills their outcomes and stores the extended sequences.
  void decode_pass(const std::vector<DecodeEntry>& batch, const std::vector<DecodeInput>& inputs,
                   const std::vector<std::size_t>& members, std::vector<CachedSequence> sequences,
                   std::vector<DecodeOutcome>& outcomes) {
    const auto gather = [&](torch::Tensor DecodeInput::*field) {
      std::vector<torch::Tensor> parts;
      for (auto i : members) parts.push_back(inputs[i].*field);
      return torch::cat(parts, 0);
    };
    const auto tokens = gather(&DecodeInput::tokens), positions = gather(&DecodeInput::positions);
    auto stream = plan.has_embedding() ? module->embed_at(tokens, positions)
                                       : module->from_boundary_at(gather(&DecodeInput::received), tokens, positions);
    stream = run_blocks_cached(*module, stream, sequences, causal_mask);
    if (plan.has_head()) {
      const auto logits = module->logits(stream.select(1, -1)).to(torch::kCPU, torch::kFloat32).contiguous();
      const auto vocab = static_cast<std::size_t>(options.model.vocab);
      for (std::size_t j = 0; j < members.size(); ++j)
        outcomes[members[j]].logits.assign(logits.data_ptr<float>() + j * vocab, logits.data_ptr<float>() + (j + 1) * vocab);
    } else {
      const auto boundary = module->to_boundary_at(stream, tokens, positions);
      for (std::size_t j = 0; j < members.size(); ++j)
        outcomes[members[j]].activations =
            encode_tensor(options.codec, boundary.slice(0, static_cast<std::int64_t>(j), static_cast<std::int64_t>(j) + 1));
    }
    const auto now = clock::now();
    for (std::size_t j = 0; j < members.size(); ++j) cache.store(batch[members[j]].session, std::move(sequences[j]), now);
  }
};

}  // namespace tessera::engine

// The stage worker: one contiguous run of blocks with its own optimizer, forward and backward over
// codec payloads, the shared-embedding and replica gradient exchange, its checkpoint, and
// inference with a KV cache (decode; the cache itself is core/engine/inference_cache.h).
#include "core/engine/torch_pch.h"

#include "core/engine/stage.h"

#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "core/engine/checkpoint_file.h"
#include "core/engine/device_probe.h"
#include "core/engine/gpt_modules.h"
#include "core/engine/gpt_training.h"
#include "core/engine/heap_tuning.h"
#include "core/engine/inference_cache.h"

namespace tessera::engine {

namespace {

constexpr std::int64_t checkpoint_format = 1;

// Written into every checkpoint, so that one for another model configuration is refused on load.
std::uint64_t config_fingerprint(const ModelConfig& c) {
  std::uint64_t h = mix(c.seed);
  for (std::int64_t v : {std::int64_t(c.layers), std::int64_t(c.width), std::int64_t(c.heads),
                         std::int64_t(c.context), std::int64_t(c.vocab), std::int64_t(c.subspace_rank),
                         std::int64_t(std::llround(c.dropout * 1e6))})
    h = mix(h ^ static_cast<std::uint64_t>(v));
  // Subspace models before the learned shared embeddings (a fixed token table) had other
  // parameters: their checkpoints must be refused as another model, not misread.
  if (c.subspace_rank > 0) h = mix(h ^ 0x5348415245443032ULL);
  return h;
}

// A tensor onto the wire, encoded straight from its CPU float32 buffer (no intermediate copy).
Payload encode_tensor(CodecKind codec, const torch::Tensor& tensor, Rounding rounding = Rounding::nearest) {
  const auto cpu = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return encode(codec, std::vector<std::int64_t>(cpu.sizes().begin(), cpu.sizes().end()), cpu.data_ptr<float>(),
                rounding);
}

// A payload off the wire, checked against the codec and shape this stage expects and decoded
// straight into a new tensor's buffer; throws before anything else is touched.
torch::Tensor decode_tensor(const Payload& payload, CodecKind codec, const std::vector<std::int64_t>& shape,
                            const torch::Device& device) {
  auto values = torch::empty(shape, torch::kFloat32);
  decode(payload, codec, shape, values.data_ptr<float>());
  return values.to(device);
}

}  // namespace

struct Stage::Impl {
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
  // A backward ran since the shared embeddings' gradient was last summed across the stages.
  bool shared_gradient_pending = false;
  double forward_flops_per_token = 0.0;
  InferenceCache cache{0, std::chrono::seconds(0)};  // set from the options in the constructor

  // No gradients and eval mode (no dropout) while it lives; training mode again after.
  struct InferenceScope {
    explicit InferenceScope(StageModule& m) : module(m) { module->eval(); }
    ~InferenceScope() { module->train(); }
    InferenceScope(const InferenceScope&) = delete;
    InferenceScope& operator=(const InferenceScope&) = delete;
    torch::NoGradGuard no_grad;
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
    InferenceScope scope{module};
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

Stage::Stage(const StageOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  validate(options.model);
  s.options = options;
  s.plan = plan_stage(options.model, options.stage_count, options.stage_index);
  if (options.codec == CodecKind::subspace && options.model.subspace_rank == 0)
    throw std::invalid_argument("the subspace codec needs a subspace-constrained model (set subspace_rank > 0)");
  if (options.codec != CodecKind::subspace && options.model.subspace_rank > 0 && options.stage_count > 1)
    throw std::invalid_argument("a subspace-constrained model sends subspace coefficients: use the subspace codec");
  if (options.train.micro_batches < 1 || options.train.micro_batch_size < 1)
    throw std::invalid_argument("micro_batches and micro_batch_size must be at least 1");
  const int in_flight = options.in_flight > 0 ? options.in_flight : options.train.micro_batches;
  s.memory = estimate_stage_memory(options.model, s.plan, options.train.micro_batch_size, in_flight);
  if (options.memory_limit_bytes > 0 && s.memory.total() > options.memory_limit_bytes)
    throw std::runtime_error(
        "stage " + std::to_string(s.plan.index) + " of " + std::to_string(s.plan.count) + " needs about " +
        format_bytes(s.memory.total()) + " (weights " + format_bytes(s.memory.parameters) + ", gradients " +
        format_bytes(s.memory.gradients) + ", optimizer " + format_bytes(s.memory.optimizer) + ", activations of " +
        std::to_string(in_flight) + (in_flight == 1 ? " micro-batch " : " micro-batches ") +
        format_bytes(s.memory.activations) + ") but the memory limit is " + format_bytes(options.memory_limit_bytes) +
        ": use more stages, a smaller micro-batch or fewer micro-batches in flight, or raise the limit");
  if (options.inference_cache_bytes < 0 || options.inference_session_ttl.count() < 0)
    throw std::invalid_argument("inference_cache_bytes and inference_session_ttl must not be negative");
  if (options.threads > 0) set_torch_threads(options.threads);
  s.device = choose_device(options.device);
  if (s.device.is_cpu()) keep_freed_memory_for_reuse(s.memory);
  s.module = StageModule(options.model, s.plan);
  s.module->to(s.device);
  s.module->train();
  s.optimizer = make_optimizer(s.module, options.train);
  s.generator = seeded_generator(mix(options.model.seed ^ (0x44524f50ULL + static_cast<std::uint64_t>(s.plan.index))));
  s.causal_mask = torch::ones({options.model.context, options.model.context}, torch::kBool).triu(1).to(s.device);
  s.forward_flops_per_token = stage_training_flops_per_token(options.model, s.plan) / 3.0;
  s.cache = InferenceCache(options.inference_cache_bytes, options.inference_session_ttl);
}

Stage::~Stage() = default;
Stage::Stage(Stage&&) noexcept = default;
Stage& Stage::operator=(Stage&&) noexcept = default;

const StagePlan& Stage::plan() const { return impl_->plan; }
const StageOptions& Stage::options() const { return impl_->options; }
MemoryEstimate Stage::memory_estimate() const { return impl_->memory; }
std::string Stage::device_label() const { return impl_->device.str(); }
std::int64_t Stage::step_count() const { return impl_->step; }
int Stage::in_flight() const { return static_cast<int>(impl_->stash.size()); }

ForwardResult Stage::forward(const ForwardMessage& input) {
  auto& s = *impl_;
  const auto start = clock::now();
  s.check_tokens(input);
  if (s.stash.count(input.micro_batch))
    throw std::invalid_argument("micro-batch " + std::to_string(input.micro_batch) + " is already in flight on stage " +
                                std::to_string(s.plan.index));
  const auto all = tokens_tensor(input.tokens, input.batch, input.sequence + 1).to(s.device);
  const auto inputs = all.slice(1, 0, input.sequence);
  auto [leaf, stream] = s.stream_in(input, inputs, /*need_grad=*/true);
  stream = s.module->run_blocks(stream, s.causal_mask, s.generator);

  ForwardResult result;
  Impl::Stash entry;
  entry.input = leaf;
  entry.tokens = static_cast<std::int64_t>(input.batch) * input.sequence;
  result.output.micro_batch = input.micro_batch;
  result.output.batch = input.batch;
  result.output.sequence = input.sequence;
  result.output.tokens = input.tokens;
  if (s.plan.has_head()) {
    const auto targets = all.slice(1, 1, input.sequence + 1);
    const auto logits = s.module->logits(stream);
    const auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, s.options.model.vocab}),
                                                           targets.reshape({-1}));
    result.metrics["loss"] = loss.item<double>();
    entry.output = loss / static_cast<double>(s.options.train.micro_batches);
  } else {
    entry.output = s.module->to_boundary(stream, inputs);
    result.output.activations = encode_tensor(s.options.codec, entry.output);
    result.metrics["payload_bytes"] = static_cast<double>(result.output.activations.bytes.size());
  }
  s.stash.emplace(input.micro_batch, std::move(entry));
  s.sync();
  const double tokens = static_cast<double>(input.batch) * input.sequence;
  result.metrics["tokens"] = tokens;
  result.metrics["flops"] = s.forward_flops_per_token * tokens;
  result.metrics["device_seconds"] = seconds_since(start);
  return result;
}

BackwardResult Stage::backward(std::int64_t micro_batch, const Payload& grad_output) {
  auto& s = *impl_;
  const auto start = clock::now();
  const auto found = s.stash.find(micro_batch);
  if (found == s.stash.end())
    throw std::invalid_argument("micro-batch " + std::to_string(micro_batch) + " is not in flight on stage " +
                                std::to_string(s.plan.index));
  auto& entry = found->second;
  if (s.plan.has_head()) {
    entry.output.backward();
  } else {
    const auto shape = std::vector<std::int64_t>(entry.output.sizes().begin(), entry.output.sizes().end());
    // Decoding throws before anything changes.
    entry.output.backward(decode_tensor(grad_output, s.options.codec, shape, s.device));
  }
  if (!s.module->shared_parameters().empty()) s.shared_gradient_pending = true;
  BackwardResult result;
  if (entry.input.defined()) {
    // int8 rounds gradients stochastically: with one scale per token for `width` values, most
    // components of a gradient are smaller than half a step and round-to-nearest would drop them
    // every time; unbiased rounding keeps them on average (measured: the bench's int8 gap fell from
    // +1.15% to +0.16%). The subspace codec's r coefficients per token are few and of similar
    // size, so it keeps the lower-variance nearest rounding.
    const auto rounding = s.options.codec == CodecKind::int8 ? Rounding::stochastic : Rounding::nearest;
    result.grad_input = encode_tensor(s.options.codec, entry.input.grad(), rounding);
    result.metrics["payload_bytes"] = static_cast<double>(result.grad_input.bytes.size());
  }
  const double tokens = static_cast<double>(entry.tokens);
  s.stash.erase(found);
  s.sync();
  result.metrics["tokens"] = tokens;
  result.metrics["flops"] = 2.0 * s.forward_flops_per_token * tokens;
  result.metrics["device_seconds"] = seconds_since(start);
  return result;
}

double Stage::grad_norm_squared() const {
  // The shared embeddings are one set of parameters held by every stage: stage 0 counts them.
  const auto& s = *impl_;
  return sum_of_squared_grads(impl_->module, s.plan.index == 0 ? std::vector<torch::Tensor>{}
                                                                : s.module->shared_parameters());
}

std::int64_t Stage::shared_embedding_size() const {
  std::int64_t n = 0;
  for (const auto& p : impl_->module->shared_parameters()) n += p.numel();
  return n;
}

std::vector<float> Stage::shared_embedding_gradient() const {
  torch::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(shared_embedding_size()));
  for (const auto& p : impl_->module->shared_parameters()) {
    const auto grad = p.grad().defined() ? p.grad().detach().to(torch::kCPU, torch::kFloat32).contiguous()
                                         : torch::zeros(p.sizes(), torch::kFloat32);
    out.insert(out.end(), grad.data_ptr<float>(), grad.data_ptr<float>() + grad.numel());
  }
  return out;
}

void Stage::set_shared_embedding_gradient(const std::vector<float>& summed) {
  auto& s = *impl_;
  const auto expected = shared_embedding_size();
  if (expected == 0)
    throw std::logic_error("stage " + std::to_string(s.plan.index) +
                           " holds no shared embeddings: only subspace pipelines of more than one stage do");
  if (static_cast<std::int64_t>(summed.size()) != expected)
    throw std::invalid_argument("shared embedding gradient rejected: expected " + std::to_string(expected) +
                                " values, got " + std::to_string(summed.size()));
  for (float v : summed)
    if (!std::isfinite(v)) throw std::invalid_argument("shared embedding gradient rejected: it holds NaN or Inf");
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& p : s.module->shared_parameters()) {
    const auto values = torch::from_blob(const_cast<float*>(summed.data() + offset), p.sizes(), torch::kFloat32)
                            .to(p.device(), /*non_blocking=*/false, /*copy=*/true);
    if (p.grad().defined())
      p.mutable_grad().copy_(values);
    else
      p.mutable_grad() = values;
    offset += static_cast<std::size_t>(p.numel());
  }
  s.shared_gradient_pending = false;
}

Metrics Stage::step(double global_grad_norm) {
  auto& s = *impl_;
  if (!std::isfinite(global_grad_norm) || global_grad_norm < 0.0)
    throw std::invalid_argument("global gradient norm " + std::to_string(global_grad_norm) +
                                " is not a finite non-negative number: step refused");
  if (!s.stash.empty())
    throw std::logic_error(std::to_string(s.stash.size()) + " micro-batches are still in flight on stage " +
                           std::to_string(s.plan.index) + ": run their backward before step()");
  if (s.shared_gradient_pending)
    throw std::logic_error("stage " + std::to_string(s.plan.index) +
                           " has not received the shared embedding gradient summed over all stages: call "
                           "set_shared_embedding_gradient() before step()");
  const auto start = clock::now();
  const auto [lr, clipped] = clip_and_step(s.module, *s.optimizer, s.options.train, s.step, global_grad_norm);
  ++s.step;
  s.sync();
  return {{"lr", lr}, {"grad_norm", global_grad_norm}, {"clipped", clipped ? 1.0 : 0.0},
          {"step", static_cast<double>(s.step)}, {"device_seconds", seconds_since(start)}};
}

EvalResult Stage::evaluate(const ForwardMessage& input) {
  auto& s = *impl_;
  return s.forward_without_grad(input, [&](const torch::Tensor& all, const torch::Tensor& inputs,
                                           const torch::Tensor& stream) {
    EvalResult result;
    result.output.micro_batch = input.micro_batch;
    result.output.batch = input.batch;
    result.output.sequence = input.sequence;
    result.output.tokens = input.tokens;
    if (s.plan.has_head()) {
      const auto logits = s.module->logits(stream);
      const auto targets = all.slice(1, 1, input.sequence + 1);
      result.loss = torch::nn::functional::cross_entropy(logits.reshape({-1, s.options.model.vocab}), targets.reshape({-1}))
                        .item<double>();
      const auto predicted = logits.argmax(-1).to(torch::kCPU, torch::kInt32).contiguous();
      result.predictions.assign(predicted.data_ptr<std::int32_t>(), predicted.data_ptr<std::int32_t>() + predicted.numel());
    } else {
      result.output.activations = encode_tensor(s.options.codec, s.module->to_boundary(stream, inputs));
    }
    return result;
  });
}

std::vector<std::pair<std::string, std::vector<float>>> Stage::named_parameters() const {
  return flatten(impl_->module);
}

std::int64_t Stage::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : impl_->module->parameters()) n += p.numel();
  return n;
}

void Stage::save(const std::filesystem::path& file) const {
  const auto& s = *impl_;
  if (!s.stash.empty()) throw std::logic_error("cannot checkpoint stage with micro-batches in flight");
  write_checkpoint_file(file, [&](const std::filesystem::path& temp) {
    torch::serialize::OutputArchive archive;
    archive.write("format", torch::tensor(checkpoint_format, torch::kInt64));
    archive.write("stage_index", torch::tensor(std::int64_t(s.plan.index), torch::kInt64));
    archive.write("stage_count", torch::tensor(std::int64_t(s.plan.count), torch::kInt64));
    archive.write("fingerprint",
                  torch::tensor(static_cast<std::int64_t>(config_fingerprint(s.options.model)), torch::kInt64));
    archive.write("step", torch::tensor(s.step, torch::kInt64));
    torch::serialize::OutputArchive weights, optimizer;
    s.module->save(weights);
    s.optimizer->save(optimizer);
    archive.write("module", weights);
    archive.write("optimizer", optimizer);
    at::Generator generator = s.generator;
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      archive.write("rng", generator.get_state());
    }
    archive.save_to(temp.string());
  });
}

void Stage::load(const std::filesystem::path& file) {
  auto& s = *impl_;
  if (!std::filesystem::exists(file)) throw std::runtime_error("no checkpoint at " + file.string());
  if (!s.stash.empty()) throw std::logic_error("cannot restore a stage with micro-batches in flight");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file.string(), s.device);
  } catch (const c10::Error& error) {
    throw std::runtime_error("checkpoint " + file.string() + " is damaged: " + error.what_without_backtrace());
  }
  const auto number = [&](const char* key) {
    torch::Tensor value;
    if (!archive.try_read(key, value)) throw std::runtime_error("checkpoint " + file.string() + " lacks '" + key + "'");
    return value.item<std::int64_t>();
  };
  if (number("format") != checkpoint_format)
    throw std::runtime_error("checkpoint " + file.string() + " has an unknown format version");
  const auto index = number("stage_index"), count = number("stage_count");
  if (index != s.plan.index || count != s.plan.count)
    throw std::runtime_error("checkpoint " + file.string() + " is for stage " + std::to_string(index) + " of " +
                             std::to_string(count) + ", this is stage " + std::to_string(s.plan.index) + " of " +
                             std::to_string(s.plan.count));
  if (number("fingerprint") != static_cast<std::int64_t>(config_fingerprint(s.options.model)))
    throw std::runtime_error("checkpoint " + file.string() + " was written for a different model configuration");
  torch::serialize::InputArchive weights, optimizer;
  torch::Tensor rng;
  try {
    archive.read("module", weights);
    archive.read("optimizer", optimizer);
    archive.read("rng", rng);
    s.module->load(weights);
    s.optimizer->load(optimizer);
  } catch (const c10::Error& error) {
    throw std::runtime_error("checkpoint " + file.string() + " is damaged: " + error.what_without_backtrace());
  }
  s.module->to(s.device);
  {
    std::lock_guard<std::mutex> lock(s.generator.mutex());
    s.generator.set_state(rng.to(torch::kCPU));
  }
  s.step = number("step");
  s.shared_gradient_pending = false;
  s.cache.clear();  // the sessions' keys and values came from other weights
}

// --- swarm support: abandon a step, move gradients between replicas, inference logits --------

void Stage::discard_step() {
  auto& s = *impl_;
  s.stash.clear();
  s.optimizer->zero_grad();
  s.shared_gradient_pending = false;  // like load(): the abandoned step's shared part is gone too
}

void Stage::skip_to(std::int64_t step) {
  if (step <= impl_->step) throw std::invalid_argument("a stage skips only forward, to a step after its own");
  discard_step();
  impl_->step = step;
}

std::vector<float> Stage::gradient_vector() const {
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

void Stage::set_gradient_vector(const std::vector<float>& values) {
  auto& s = *impl_;
  if (static_cast<std::int64_t>(values.size()) != parameter_count())
    throw std::invalid_argument("gradient vector has " + std::to_string(values.size()) + " values, stage " +
                                std::to_string(s.plan.index) + " has " + std::to_string(parameter_count()) +
                                " parameters");
  for (const float value : values)
    if (!std::isfinite(value)) throw std::invalid_argument("gradient vector holds a non-finite value");
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& p : s.module->parameters()) {
    const auto count = static_cast<std::size_t>(p.numel());
    auto host = torch::from_blob(const_cast<float*>(values.data() + offset), p.sizes(), torch::kFloat32);
    p.mutable_grad() = host.to(p.device()).clone();
    offset += count;
  }
}

std::vector<float> Stage::parameter_vector() const {
  torch::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(parameter_count()));
  for (const auto& p : impl_->module->parameters()) {
    const auto cpu = p.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    out.insert(out.end(), cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
  }
  return out;
}

void Stage::set_parameter_vector(const std::vector<float>& values) {
  auto& s = *impl_;
  if (static_cast<std::int64_t>(values.size()) != parameter_count())
    throw std::invalid_argument("parameter vector has " + std::to_string(values.size()) + " values, stage " +
                                std::to_string(s.plan.index) + " has " + std::to_string(parameter_count()) +
                                " parameters");
  for (const float value : values)
    if (!std::isfinite(value)) throw std::invalid_argument("parameter vector holds a non-finite value");
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& p : s.module->parameters()) {
    const auto count = static_cast<std::size_t>(p.numel());
    auto host = torch::from_blob(const_cast<float*>(values.data() + offset), p.sizes(), torch::kFloat32);
    p.copy_(host.to(p.device()));
    offset += count;
  }
  s.cache.clear();  // the sessions' keys and values came from other weights
}

std::vector<float> Stage::last_position_logits(const ForwardMessage& input) {
  auto& s = *impl_;
  if (!s.plan.has_head()) throw std::logic_error("only the last stage computes logits");
  return s.forward_without_grad(input, [&](const torch::Tensor&, const torch::Tensor&, const torch::Tensor& stream) {
    const auto last = s.module->logits(stream).select(1, input.sequence - 1).to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(last.data_ptr<float>(), last.data_ptr<float>() + last.numel());
  });
}

// --- inference with a KV cache -------------------------------------------------------------------

std::vector<DecodeOutcome> Stage::decode(const std::vector<DecodeEntry>& batch) {
  auto& s = *impl_;
  const auto inputs = s.decode_inputs(batch);
  Impl::InferenceScope scope{s.module};
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

InferenceCacheStats Stage::inference_cache_stats() const { return impl_->cache.stats(); }

void Stage::drop_inference_session(std::uint64_t session) { impl_->cache.drop(session); }

}  // namespace tessera::engine

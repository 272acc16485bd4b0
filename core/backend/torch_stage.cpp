// The stage worker: one contiguous run of blocks with its own optimizer, forward and backward over
// codec payloads, the shared-embedding gradient, and its checkpoint. Its state (TorchStage::Impl) is
// core/backend/stage_impl.h; the swarm's exchanges and inference are stage_swarm.cpp.
#include "core/backend/torch_pch.h"

#include "core/backend/torch_stage.h"

#include "core/backend/checkpoint_file.h"
#include "core/backend/stage_impl.h"

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

}  // namespace

TorchStage::TorchStage(const StageOptions& options) : impl_(std::make_unique<Impl>()) {
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
  if (options.threads > 0) torch_set_threads(options.threads);
  s.device = choose_device(options.device);
  s.bf16 = use_bf16(options.precision, s.device);
  s.memory_cap = std::make_unique<DeviceMemoryCap>(
      s.device, options.memory_limit_bytes, s.memory.total(),
      "stage " + std::to_string(s.plan.index) + " of " + std::to_string(s.plan.count));
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

TorchStage::~TorchStage() = default;

const StagePlan& TorchStage::plan() const { return impl_->plan; }
const StageOptions& TorchStage::options() const { return impl_->options; }
MemoryEstimate TorchStage::memory_estimate() const { return impl_->memory; }
std::string TorchStage::device_label() const { return impl_->device.str(); }
std::int64_t TorchStage::step_count() const { return impl_->step; }
int TorchStage::in_flight() const { return static_cast<int>(impl_->stash.size()); }

ForwardResult TorchStage::forward(const ForwardMessage& input) {
  auto& s = *impl_;
  const auto start = clock::now();
  s.check_tokens(input);
  if (s.stash.count(input.micro_batch))
    throw std::invalid_argument("micro-batch " + std::to_string(input.micro_batch) + " is already in flight on stage " +
                                std::to_string(s.plan.index));
  AutocastScope autocast{s.bf16};
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
    entry.output = s.module->to_boundary(stream, inputs).to(torch::kFloat32);  // bf16 under autocast
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

BackwardResult TorchStage::backward(std::int64_t micro_batch, const Payload& grad_output) {
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

double TorchStage::grad_norm_squared() const {
  // The shared embeddings are one set of parameters held by every stage: stage 0 counts them.
  const auto& s = *impl_;
  return sum_of_squared_grads(impl_->module, s.plan.index == 0 ? std::vector<torch::Tensor>{}
                                                                : s.module->shared_parameters());
}

std::int64_t TorchStage::shared_embedding_size() const {
  std::int64_t n = 0;
  for (const auto& p : impl_->module->shared_parameters()) n += p.numel();
  return n;
}

std::vector<float> TorchStage::shared_embedding_gradient() const {
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

void TorchStage::set_shared_embedding_gradient(const std::vector<float>& summed) {
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

Metrics TorchStage::step(double global_grad_norm) {
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

EvalResult TorchStage::evaluate(const ForwardMessage& input) {
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

std::vector<std::pair<std::string, std::vector<float>>> TorchStage::named_parameters() const {
  return flatten(impl_->module);
}

std::int64_t TorchStage::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : impl_->module->parameters()) n += p.numel();
  return n;
}

void TorchStage::save(const std::filesystem::path& file) const {
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

void TorchStage::load(const std::filesystem::path& file) {
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

}  // namespace tessera::engine

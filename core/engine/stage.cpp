// The GPT modules (pytorch/examples style), the stage worker, and the unsplit reference trainer.
#include "core/engine/torch_pch.h"

#include "core/engine/stage.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "core/engine/device_probe.h"

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tessera::engine {

namespace {

constexpr std::int64_t checkpoint_format = 1;

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

// The subspace every stage shares: an orthonormal d×r basis derived from the run seed alone, so
// no stage has to send it to another.
torch::Tensor subspace_basis(const ModelConfig& config) {
  auto gen = seeded_generator(mix(config.seed ^ 0x5355425350414345ULL));
  const auto random = at::randn({config.width, config.subspace_rank}, gen, torch::kFloat32);
  auto [q, r] = torch::linalg_qr(random);
  return q.contiguous();
}

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

// Dropout from a stage-owned generator, so that a checkpoint can restore the exact stream.
torch::Tensor dropout(const torch::Tensor& x, double p, bool training, at::Generator& gen) {
  if (!training || p <= 0.0) return x;
  // bernoulli_ takes the generator's lock itself.
  const auto keep = at::empty(x.sizes(), torch::kFloat32).bernoulli_(1.0 - p, gen);
  return x * keep.to(x.device()) / (1.0 - p);
}

struct BlockImpl : torch::nn::Module {
  BlockImpl(const ModelConfig& config, torch::Tensor shared_basis)
      : heads(config.heads),
        dropout_p(config.dropout),
        basis(std::move(shared_basis)),
        ln1(register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.width})))),
        qkv(register_module("qkv", torch::nn::Linear(config.width, 3 * config.width))),
        proj(register_module("proj", torch::nn::Linear(config.width, out_width(config)))),
        ln2(register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.width})))),
        fc(register_module("fc", torch::nn::Linear(config.width, 4 * config.width))),
        down(register_module("down", torch::nn::Linear(4 * config.width, out_width(config)))) {}

  int out_width(const ModelConfig& config) const { return basis.defined() ? config.subspace_rank : config.width; }

  // Under the subspace constraint a block writes r coefficients that the shared basis lifts
  // into the residual stream: the stream stays token table + span(basis).
  torch::Tensor lift(const torch::Tensor& y) const { return basis.defined() ? torch::matmul(y, basis.t()) : y; }

  torch::Tensor forward(torch::Tensor x, const torch::Tensor& causal_mask, at::Generator& gen) {
    const auto b = x.size(0), t = x.size(1), d = x.size(2);
    const auto head_dim = d / heads;
    auto parts = qkv(ln1(x)).split(d, /*dim=*/2);
    auto shape = [&](const torch::Tensor& z) { return z.view({b, t, heads, head_dim}).transpose(1, 2); };
    auto q = shape(parts[0]), k = shape(parts[1]), v = shape(parts[2]);
    auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
    scores = scores.masked_fill(causal_mask.slice(0, 0, t).slice(1, 0, t), -std::numeric_limits<float>::infinity());
    auto attention = dropout(torch::softmax(scores, -1), dropout_p, is_training(), gen);
    auto y = torch::matmul(attention, v).transpose(1, 2).contiguous().view({b, t, d});
    x = x + dropout(lift(proj(y)), dropout_p, is_training(), gen);
    auto h = down(torch::gelu(fc(ln2(x))));
    return x + dropout(lift(h), dropout_p, is_training(), gen);
  }

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
  StageModuleImpl(const ModelConfig& model_config, const StagePlan& stage_plan)
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

  // GPT-2 initialisation, each parameter from its own generator seeded by (run seed, name).
  void initialise() {
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

  static bool holds_embedding(const ModelConfig& config, const StagePlan& plan) {
    return plan.has_embedding() || config.subspace_rank > 0;
  }

  // The embedding of token ids [b, t]: token table rows plus the position embedding.
  torch::Tensor embed(const torch::Tensor& tokens) {
    return tok_emb->forward(tokens) + pos_emb.slice(0, 0, tokens.size(1));
  }

  // What goes on the wire for this stream, and back. Under the subspace constraint the stream is
  // embed(ids) + U·c exactly (every write that reaches a boundary lies in span(U)), so r
  // coefficients c = Uᵀ(stream − embed(ids)) carry all of it.
  torch::Tensor to_boundary(const torch::Tensor& stream, const torch::Tensor& tokens) {
    if (config.subspace_rank == 0) return stream;
    return torch::matmul(stream - embed(tokens), basis);
  }
  torch::Tensor from_boundary(const torch::Tensor& received, const torch::Tensor& tokens) {
    if (config.subspace_rank == 0) return received;
    return embed(tokens) + torch::matmul(received, basis.t());
  }

  // The parameters every stage of a subspace pipeline holds a copy of, in a fixed order.
  std::vector<torch::Tensor> shared_parameters() const {
    if (config.subspace_rank == 0 || plan.count == 1) return {};
    return {tok_emb->weight, pos_emb};
  }

  torch::Tensor run_blocks(torch::Tensor x, const torch::Tensor& causal_mask, at::Generator& gen) {
    for (auto& block : blocks) x = block->forward(x, causal_mask, gen);
    return x;
  }

  torch::Tensor logits(const torch::Tensor& x) { return head->forward(ln_f->forward(x)); }

  ModelConfig config;
  StagePlan plan;
  torch::Tensor basis, pos_emb;
  torch::nn::Embedding tok_emb = nullptr;
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f = nullptr;
  torch::nn::Linear head = nullptr;
};
TORCH_MODULE(StageModule);

torch::Device choose_device(const std::string& text) {
  const auto choice = parse_device(text, probe_torch());
  return choice.cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(choice.index))
                     : torch::Device(torch::kCPU);
}

// AdamW with decay on matrices only (GPT-2 practice): biases, LayerNorms, embeddings excluded.
std::unique_ptr<torch::optim::AdamW> make_optimizer(StageModule& module, const TrainConfig& train) {
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& item : module->named_parameters()) {
    const bool is_matrix = item.value().dim() == 2 && item.key().find("emb") == std::string::npos;
    (is_matrix ? decay : no_decay).push_back(item.value());
  }
  auto options = [&](double weight_decay) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(train.lr)
                                                            .betas({train.beta1, train.beta2})
                                                            .eps(train.eps)
                                                            .weight_decay(weight_decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(train.weight_decay));
  groups.emplace_back(no_decay, options(0.0));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(train.lr));
}

// Sum of squared gradients, leaving out `skip` (a replica another stage already counts).
double sum_of_squared_grads(StageModule& module, const std::vector<torch::Tensor>& skip = {}) {
  torch::NoGradGuard no_grad;
  double total = 0.0;
  for (auto& p : module->parameters()) {
    bool skipped = false;
    for (const auto& other : skip) skipped = skipped || p.is_same(other);
    if (!skipped && p.grad().defined()) total += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  }
  return total;
}

// Clip by the global norm (torch's clip_grad_norm_ rule), step at the scheduled rate, zero grads.
std::pair<double, bool> clip_and_step(StageModule& module, torch::optim::AdamW& optimizer, const TrainConfig& train,
                                      std::int64_t step, double global_norm) {
  torch::NoGradGuard no_grad;
  bool clipped = false;
  if (train.clip_norm > 0.0) {
    const double coefficient = train.clip_norm / (global_norm + 1e-6);
    if (coefficient < 1.0) {
      clipped = true;
      for (auto& p : module->parameters())
        if (p.grad().defined()) p.grad().mul_(coefficient);
    }
  }
  const double lr = learning_rate(train, step);
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  optimizer.step();
  optimizer.zero_grad();
  return {lr, clipped};
}

torch::Tensor tokens_tensor(const std::vector<std::int32_t>& tokens, int batch, int sequence_plus_one) {
  return torch::from_blob(const_cast<std::int32_t*>(tokens.data()), {batch, sequence_plus_one}, torch::kInt32)
      .to(torch::kInt64);
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

// Training on the CPU allocates and frees the same activation buffers every micro-batch. By
// default glibc returns a freed top of the heap larger than a dynamic threshold (at most 64 MiB)
// to the system and serves blocks above a dynamic mmap threshold with fresh mappings, so the
// next micro-batch faults its activations back in page by page, each page zeroed by the kernel:
// on the bench's model that was 40 to 50 thousand faults per step at about 2 µs each, 5 to 6 % of
// the step, and which of the compared trainers paid it depended on the order the heap had grown
// in. Keep freed memory for reuse instead: blocks up to 32 MiB (glibc's largest mmap threshold)
// come from the heap, and the heap is trimmed only past twice the largest memory estimate of an
// engine object in this process, so what stays mapped is about what training touches anyway.
void keep_freed_memory_for_reuse(const MemoryEstimate& estimate) {
#if defined(__GLIBC__)
  static std::mutex mutex;
  static std::int64_t trim_threshold = 0;
  constexpr std::int64_t floor = std::int64_t{256} << 20, ceiling = std::numeric_limits<int>::max();
  const std::int64_t wanted = std::clamp(2 * estimate.total(), floor, ceiling);
  std::lock_guard<std::mutex> lock(mutex);
  if (wanted <= trim_threshold) return;
  if (trim_threshold == 0) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(wanted));
  trim_threshold = wanted;
#else
  (void)estimate;
#endif
}

using clock = std::chrono::steady_clock;
double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

void write_atomically(const std::filesystem::path& file, const std::function<void(const std::string&)>& write) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  const auto temp = file.string() + ".tmp";
  write(temp);
#ifndef _WIN32
  const int fd = ::open(temp.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error("cannot reopen " + temp + " to flush it to disk");
  const int synced = ::fsync(fd);
  ::close(fd);
  if (synced != 0) throw std::runtime_error("cannot flush " + temp + " to disk");
#endif
  std::filesystem::rename(temp, file);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
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
    torch::NoGradGuard no_grad;
    module->eval();
    struct TrainAgain {
      StageModule& module;
      ~TrainAgain() { module->train(); }
    } restore{module};
    const auto all = tokens_tensor(input.tokens, input.batch, input.sequence + 1).to(device);
    const auto inputs = all.slice(1, 0, input.sequence);
    auto stream = stream_in(input, inputs, false).second;
    stream = module->run_blocks(stream, causal_mask, generator);
    return finish(all, inputs, stream);
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

namespace {
std::vector<std::pair<std::string, std::vector<float>>> flatten(const StageModule& module) {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  for (const auto& item : module->named_parameters()) {
    const auto cpu = item.value().detach().to(torch::kCPU).contiguous();
    out.emplace_back(item.key(), std::vector<float>(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel()));
  }
  return out;
}
}  // namespace

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
  write_atomically(file, [&](const std::string& temp) {
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
    archive.save_to(temp);
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
}

// ---------------------------------------------------------------------------------------------
struct SingleProcessTrainer::Impl {
  TrainerOptions options;
  torch::Device device{torch::kCPU};
  StageModule module{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  at::Generator generator;
  torch::Tensor causal_mask;
  std::int64_t step = 0;
  double flops_per_token = 0.0;
};

SingleProcessTrainer::SingleProcessTrainer(const TrainerOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  validate(options.model);
  s.options = options;
  if (options.threads > 0) set_torch_threads(options.threads);
  s.device = choose_device(options.device);
  const auto plan = plan_stage(options.model, 1, 0);
  if (s.device.is_cpu())
    keep_freed_memory_for_reuse(estimate_stage_memory(options.model, plan, options.train.micro_batch_size, 1));
  s.module = StageModule(options.model, plan);
  s.module->to(s.device);
  s.module->train();
  s.optimizer = make_optimizer(s.module, options.train);
  s.generator = seeded_generator(mix(options.model.seed ^ 0x44524f50ULL));
  s.causal_mask = torch::ones({options.model.context, options.model.context}, torch::kBool).triu(1).to(s.device);
  s.flops_per_token = stage_training_flops_per_token(options.model, plan);
}

SingleProcessTrainer::~SingleProcessTrainer() = default;
std::int64_t SingleProcessTrainer::step_count() const { return impl_->step; }

Metrics SingleProcessTrainer::train_step(const std::vector<std::vector<std::int32_t>>& micro_batches, int batch) {
  auto& s = *impl_;
  const auto start = clock::now();
  const int micro = static_cast<int>(micro_batches.size());
  double loss_sum = 0.0, tokens = 0.0;
  for (const auto& tokens_host : micro_batches) {
    const int columns = static_cast<int>(tokens_host.size()) / batch;
    const auto all = tokens_tensor(tokens_host, batch, columns).to(s.device);
    const auto inputs = all.slice(1, 0, columns - 1), targets = all.slice(1, 1, columns);
    auto stream = s.module->run_blocks(s.module->embed(inputs), s.causal_mask, s.generator);
    const auto loss = torch::nn::functional::cross_entropy(s.module->logits(stream).reshape({-1, s.options.model.vocab}),
                                                           targets.reshape({-1}));
    loss_sum += loss.item<double>();
    (loss / static_cast<double>(s.options.train.micro_batches)).backward();
    tokens += static_cast<double>(batch) * (columns - 1);
  }
  const double norm = std::sqrt(sum_of_squared_grads(s.module));
  const auto [lr, clipped] = clip_and_step(s.module, *s.optimizer, s.options.train, s.step, norm);
  ++s.step;
  if (s.device.is_cuda()) torch::cuda::synchronize(s.device.index());
  return {{"loss", loss_sum / micro}, {"tokens", tokens}, {"flops", s.flops_per_token * tokens},
          {"lr", lr}, {"grad_norm", norm}, {"clipped", clipped ? 1.0 : 0.0},
          {"device_seconds", seconds_since(start)}};
}

EvalResult SingleProcessTrainer::evaluate(const std::vector<std::int32_t>& tokens_host, int batch) {
  auto& s = *impl_;
  torch::NoGradGuard no_grad;
  s.module->eval();
  const int columns = static_cast<int>(tokens_host.size()) / batch;
  const auto all = tokens_tensor(tokens_host, batch, columns).to(s.device);
  const auto inputs = all.slice(1, 0, columns - 1), targets = all.slice(1, 1, columns);
  const auto logits = s.module->logits(s.module->run_blocks(s.module->embed(inputs), s.causal_mask, s.generator));
  s.module->train();
  EvalResult result;
  result.loss = torch::nn::functional::cross_entropy(logits.reshape({-1, s.options.model.vocab}), targets.reshape({-1}))
                    .item<double>();
  const auto predicted = logits.argmax(-1).to(torch::kCPU, torch::kInt32).contiguous();
  result.predictions.assign(predicted.data_ptr<std::int32_t>(), predicted.data_ptr<std::int32_t>() + predicted.numel());
  return result;
}

// --- swarm support: abandon a step, move gradients between replicas, inference logits --------

void Stage::discard_step() {
  auto& s = *impl_;
  s.stash.clear();
  s.optimizer->zero_grad();
  s.shared_gradient_pending = false;  // like load(): the abandoned step's shared part is gone too
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

std::vector<float> Stage::last_position_logits(const ForwardMessage& input) {
  auto& s = *impl_;
  if (!s.plan.has_head()) throw std::logic_error("only the last stage computes logits");
  return s.forward_without_grad(input, [&](const torch::Tensor&, const torch::Tensor&, const torch::Tensor& stream) {
    const auto last = s.module->logits(stream).select(1, input.sequence - 1).to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(last.data_ptr<float>(), last.data_ptr<float>() + last.numel());
  });
}

std::vector<std::pair<std::string, std::vector<float>>> SingleProcessTrainer::named_parameters() const {
  return flatten(impl_->module);
}

}  // namespace tessera::engine

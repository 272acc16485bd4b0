// A pipeline stage worker: one contiguous run of transformer blocks (plus the embeddings on stage
// 0, the head and loss on the last stage) with its own AdamW optimizer. It is built and trained
// without any other stage's weights existing in the process; what crosses its boundaries is a
// codec Payload plus the micro-batch's token ids. The work is done by the backend loaded at run
// time (core/engine/backend.h: libtorch on the CPU or on CUDA); this handle holds it and forwards.
// The unsplit reference trainer is core/engine/reference_trainer.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/stage_core.h"
#include "core/engine/stage_types.h"

namespace tessera::engine {

class Stage {
 public:
  // Throws std::runtime_error when the memory estimate exceeds options.memory_limit_bytes, and
  // std::invalid_argument for a bad config, plan, codec/model mismatch, device, or a negative
  // inference cache budget or ttl.
  // The stage is made by the process's backend (backend.h), loaded on first use.
  explicit Stage(const StageOptions& options);
  ~Stage();
  Stage(Stage&&) noexcept;
  Stage& operator=(Stage&&) noexcept;

  const StagePlan& plan() const { return core_->plan(); }
  const StageOptions& options() const { return core_->options(); }
  MemoryEstimate memory_estimate() const { return core_->memory_estimate(); }
  std::string device_label() const { return core_->device_label(); }

  // Runs the stage's blocks on one micro-batch and stashes what backward needs. Rejects (throws
  // std::invalid_argument) a payload with the wrong codec, shape or non-finite values, token ids
  // outside the vocabulary, or a micro-batch id already in flight; nothing is changed then.
  ForwardResult forward(const ForwardMessage& input) { return core_->forward(input); }
  // Back-propagates one stashed micro-batch. The last stage ignores grad_output (its loss is the
  // origin, scaled by 1 / micro_batches); other stages require a valid gradient payload.
  BackwardResult backward(std::int64_t micro_batch, const Payload& grad_output) { return core_->backward(micro_batch, grad_output); }
  // This stage's sum of squared gradients: the one scalar each stage contributes to the global norm.
  // Under the subspace constraint it counts the shared embeddings on stage 0 only, so call it
  // after the shared embedding gradient has been summed (below).
  double grad_norm_squared() const { return core_->grad_norm_squared(); }

  // Shared embeddings. In a subspace pipeline (ModelConfig::subspace_rank > 0, more than one
  // stage) every stage holds a copy of the learned token and position embeddings, because it
  // recomputes them from the token ids to rebuild the stream from r coefficients, and its backward
  // yields only its own part of their gradient. After the step's last backward each stage hands
  // shared_embedding_gradient() ((vocab + context)·width floats: the token table row-major, then
  // the position table) to be summed element-wise over all stages, and every stage receives the
  // sum through set_shared_embedding_gradient() before grad_norm_squared() and step(); step()
  // refuses otherwise. Equal sums keep the copies equal. Empty / 0 for any other stage.
  std::int64_t shared_embedding_size() const { return core_->shared_embedding_size(); }
  std::vector<float> shared_embedding_gradient() const { return core_->shared_embedding_gradient(); }
  // Throws std::invalid_argument for a wrong size or NaN/Inf (nothing changes then), and
  // std::logic_error on a stage without shared embeddings.
  void set_shared_embedding_gradient(const std::vector<float>& summed) { return core_->set_shared_embedding_gradient(summed); }
  // Clips by the agreed global norm, steps AdamW at the scheduled learning rate, zeroes gradients.
  Metrics step(double global_grad_norm) { return core_->step(global_grad_norm); }
  std::int64_t step_count() const { return core_->step_count(); }
  int in_flight() const { return core_->in_flight(); }

  // A forward pass without gradients or stash (evaluation, inference).
  EvalResult evaluate(const ForwardMessage& input) { return core_->evaluate(input); }

  std::vector<std::pair<std::string, std::vector<float>>> named_parameters() const { return core_->named_parameters(); }
  std::int64_t parameter_count() const { return core_->parameter_count(); }

  // Weights, optimizer state, step and RNG state, written atomically and durably ("<file>.tmp",
  // fsync, rename, fsync of the folder: core/backend/checkpoint_file.h).
  void save(const std::filesystem::path& file) const { return core_->save(file); }
  // Throws std::runtime_error when the file is missing, damaged, or for another stage or model.
  void load(const std::filesystem::path& file) { return core_->load(file); }

  // For the swarm (core/node): drops every stashed micro-batch and zeroes the gradients, so an
  // abandoned step leaves no trace and can be retried.
  void discard_step() { return core_->discard_step(); }
  // For the swarm: a stage whose replicas all missed steps that the rest of the run committed (the
  // replicas that trained them left) moves on to `step` with its weights as they are, after
  // discard_step(). Throws std::invalid_argument unless `step` is after step_count().
  void skip_to(std::int64_t step) { return core_->skip_to(step); }
  // All parameter gradients flattened in named_parameters() order (zeros where none), and the
  // reverse: replicas of one stage sum these in a fixed order and all set the same sum.
  std::vector<float> gradient_vector() const { return core_->gradient_vector(); }
  // Throws std::invalid_argument when the length is not the parameter count or a value is not finite.
  void set_gradient_vector(const std::vector<float>& values) { return core_->set_gradient_vector(values); }
  // The shape of each parameter, in gradient_vector() order (a weight matrix is [out, in]).
  std::vector<std::vector<std::int64_t>> parameter_shapes() const { return core_->parameter_shapes(); }
  // All parameters flattened in named_parameters() order, and the reverse: a spot checker
  // (core/node/swarm/spot_checker.h) installs a worker's weights at the start of a step into a
  // scratch stage with it; protocol::weights_digest(parameter_vector()) is the weights digest.
  std::vector<float> parameter_vector() const { return core_->parameter_vector(); }
  // Throws std::invalid_argument when the length is not the parameter count or a value is not
  // finite; nothing changes then. Gradients, optimizer state and step are left as they are.
  void set_parameter_vector(const std::vector<float>& values) { return core_->set_parameter_vector(values); }
  // Last stage only: a forward pass without gradients or stash, returning the logits of every
  // row's last position ([batch, vocab], row-major). Inference for the swarm's gateway.
  std::vector<float> last_position_logits(const ForwardMessage& input) { return core_->last_position_logits(input); }

  // Inference with a KV cache. Runs one decode step for every entry, without gradients, stash,
  // dropout or touching the training state or RNG: the entries that add one position to a session
  // this stage holds go through the blocks as one batch; prefills (start 0) and multi-token
  // extensions run as passes of their own. A session keeps the keys and values of this stage's
  // blocks; start == its length extends it, start == 0 reopens it, any other start is `missing`.
  // Before a session is stored, the least recently used other sessions are evicted until it fits
  // options().inference_cache_bytes (a session larger than the whole budget is answered but not
  // kept); sessions idle longer than inference_session_ttl are dropped at the start of each call.
  // Throws std::invalid_argument, changing nothing, for an empty batch, a
  // session twice in it, no tokens, ids outside the vocabulary, start < 0, start + n > context, or a
  // payload with the wrong codec, shape or non-finite values (or any payload on stage 0). Outcomes are in the entries' order.
  // load() and set_parameter_vector() clear the cache (other weights); step() and skip_to() keep
  // it: the weights moved only slightly, and a caller that wants exact results reopens its sessions.
  std::vector<DecodeOutcome> decode(const std::vector<DecodeEntry>& batch) { return core_->decode(batch); }
  InferenceCacheStats inference_cache_stats() const { return core_->inference_cache_stats(); }
  void drop_inference_session(std::uint64_t session) { return core_->drop_inference_session(session); }


 private:
  std::unique_ptr<StageCore> core_;
};

}  // namespace tessera::engine

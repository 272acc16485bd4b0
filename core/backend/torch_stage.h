// The stage worker on libtorch: engine::StageCore as both backends do it. Its state is
// TorchStage::Impl (stage_impl.h); training and checkpoints are torch_stage.cpp, the swarm's
// exchanges and inference stage_swarm.cpp.
#pragma once

#include <memory>

#include "core/engine/stage_core.h"

namespace tessera::engine {

class TorchStage final : public StageCore {
 public:
  // Throws what engine::Stage's constructor documents.
  explicit TorchStage(const StageOptions& options);
  ~TorchStage() override;


  const StagePlan& plan() const override;
  const StageOptions& options() const override;
  MemoryEstimate memory_estimate() const override;
  std::string device_label() const override;

  ForwardResult forward(const ForwardMessage& input) override;
  BackwardResult backward(std::int64_t micro_batch, const Payload& grad_output) override;
  double grad_norm_squared() const override;

  std::int64_t shared_embedding_size() const override;
  std::vector<float> shared_embedding_gradient() const override;
  void set_shared_embedding_gradient(const std::vector<float>& summed) override;
  Metrics step(double global_grad_norm) override;
  std::int64_t step_count() const override;
  int in_flight() const override;

  EvalResult evaluate(const ForwardMessage& input) override;

  std::vector<std::pair<std::string, std::vector<float>>> named_parameters() const override;
  std::int64_t parameter_count() const override;

  void save(const std::filesystem::path& file) const override;
  void load(const std::filesystem::path& file) override;

  void discard_step() override;
  void skip_to(std::int64_t step) override;
  std::vector<float> gradient_vector() const override;
  void set_gradient_vector(const std::vector<float>& values) override;
  std::vector<std::vector<std::int64_t>> parameter_shapes() const override;
  std::vector<float> parameter_vector() const override;
  void set_parameter_vector(const std::vector<float>& values) override;
  std::vector<float> last_position_logits(const ForwardMessage& input) override;

  std::vector<DecodeOutcome> decode(const std::vector<DecodeEntry>& batch) override;
  InferenceCacheStats inference_cache_stats() const override;
  void drop_inference_session(std::uint64_t session) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::engine

// The work of one pipeline stage as a backend does it (core/backend): the interface behind
// engine::Stage. A backend library (libtorch on the CPU, libtorch with CUDA) implements it;
// nothing here includes libtorch. The calls are documented on engine::Stage (stage.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/stage_types.h"

namespace tessera::engine {

class StageCore {
 public:
  virtual ~StageCore() = default;

  virtual const StagePlan& plan() const = 0;
  virtual const StageOptions& options() const = 0;
  virtual MemoryEstimate memory_estimate() const = 0;
  virtual std::string device_label() const = 0;

  virtual ForwardResult forward(const ForwardMessage& input) = 0;
  virtual BackwardResult backward(std::int64_t micro_batch, const Payload& grad_output) = 0;
  virtual double grad_norm_squared() const = 0;

  virtual std::int64_t shared_embedding_size() const = 0;
  virtual std::vector<float> shared_embedding_gradient() const = 0;
  virtual void set_shared_embedding_gradient(const std::vector<float>& summed) = 0;
  virtual Metrics step(double global_grad_norm) = 0;
  virtual std::int64_t step_count() const = 0;
  virtual int in_flight() const = 0;

  virtual EvalResult evaluate(const ForwardMessage& input) = 0;

  virtual std::vector<std::pair<std::string, std::vector<float>>> named_parameters() const = 0;
  virtual std::int64_t parameter_count() const = 0;

  virtual void save(const std::filesystem::path& file) const = 0;
  virtual void load(const std::filesystem::path& file) = 0;

  virtual void discard_step() = 0;
  virtual void skip_to(std::int64_t step) = 0;
  virtual std::vector<float> gradient_vector() const = 0;
  virtual void set_gradient_vector(const std::vector<float>& values) = 0;
  virtual std::vector<std::vector<std::int64_t>> parameter_shapes() const = 0;
  virtual std::vector<float> parameter_vector() const = 0;
  virtual void set_parameter_vector(const std::vector<float>& values) = 0;
  virtual std::vector<float> last_position_logits(const ForwardMessage& input) = 0;

  virtual std::vector<DecodeOutcome> decode(const std::vector<DecodeEntry>& batch) = 0;
  virtual InferenceCacheStats inference_cache_stats() const = 0;
  virtual void drop_inference_session(std::uint64_t session) = 0;

};

}  // namespace tessera::engine

// FLOP counting for receipts and ownership units.
#include "core/protocol/work_units.h"

#include <stdexcept>
#include <string>

#include "core/model/model_config.h"
#include "core/protocol/receipt.h"

namespace tessera::protocol {

double receipt_flops(const model::ModelConfig& model, int stages, Direction direction, int stage,
                     std::uint64_t tokens) {
  if (stage < 0 || stage >= stages) throw std::invalid_argument("receipt names stage " + std::to_string(stage) +
                                                                " of a " + std::to_string(stages) + "-stage run");
  const auto plan = model::plan_stage(model, stages, stage);
  const double training = model::stage_training_flops_per_token(model, plan);
  const double forward = training / 3.0;
  double per_token = direction == Direction::Forward ? forward : 2.0 * forward;
  if (stages == 1 || (direction == Direction::Forward && stage == 0) ||
      (direction == Direction::Backward && stage == stages - 1))
    per_token = training;
  if (stages > 1 && direction == Direction::Forward && stage == stages - 1)
    throw std::invalid_argument("the last stage sends no forward payload to receipt");
  if (stages > 1 && direction == Direction::Backward && stage == 0)
    throw std::invalid_argument("stage 0 sends no backward payload to receipt");
  return per_token * static_cast<double>(tokens);
}

}  // namespace tessera::protocol

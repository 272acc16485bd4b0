// FLOP formulas.
#include "core/model/flops.h"

namespace tessera::model {

double forward_flops_per_token(const StageShape& shape) {
  return 2.0 * static_cast<double>(shape.non_embedding_parameters) +
         4.0 * shape.layers * static_cast<double>(shape.width) * shape.context;
}

double backward_flops_per_token(const StageShape& shape) { return 2.0 * forward_flops_per_token(shape); }

double training_flops_per_token(const StageShape& shape) {
  return forward_flops_per_token(shape) + backward_flops_per_token(shape);
}

}  // namespace tessera::model

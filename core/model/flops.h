// Work in FLOPs by the standard formula (DESIGN.md "The protocol"). Pure functions.
#pragma once

#include <cstdint>

namespace tessera::model {

struct StageShape {
  std::int64_t non_embedding_parameters = 0;  // N
  int layers = 0;                              // L
  int width = 0;                               // d
  int context = 0;                             // T
};

// Forward FLOPs per token: 2N + 4·L·d·T.
double forward_flops_per_token(const StageShape& shape);
// Backward is twice the forward.
double backward_flops_per_token(const StageShape& shape);
// One training step's FLOPs per token: forward + backward = 3 × forward.
double training_flops_per_token(const StageShape& shape);

}  // namespace tessera::model

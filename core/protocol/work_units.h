// Work units: FLOPs by the standard formula (DESIGN.md "The protocol"). Pure functions.
#pragma once

#include <cstdint>

namespace tessera::protocol {

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

}  // namespace tessera::protocol

namespace tessera::engine {
struct ModelConfig;
}

namespace tessera::protocol {

enum class Direction : std::uint8_t;

// The FLOPs a receipt acknowledges for its sender: a Forward receipt the forward pass of the
// sender's stage, a Backward receipt its backward pass. The two passes no neighbour receipts
// (stage 0's backward, the last stage's forward) are credited with the receipt that does
// exist, so each stage's whole training work per token is credited exactly once.
double receipt_flops(const engine::ModelConfig& model, int stages, Direction direction, int stage,
                     std::uint64_t tokens);

}  // namespace tessera::protocol

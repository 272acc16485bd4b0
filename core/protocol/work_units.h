// Work units: the FLOPs a receipt acknowledges (DESIGN.md "The protocol"), by the formulas in
// core/model/flops.h. Pure functions.
#pragma once

#include <cstdint>

namespace tessera::model {
struct ModelConfig;
}

namespace tessera::protocol {

enum class Direction : std::uint8_t;

// The FLOPs a receipt acknowledges for its sender: a Forward receipt the forward pass of the
// sender's stage, a Backward receipt its backward pass. The two passes no neighbour receipts
// (stage 0's backward, the last stage's forward) are credited with the receipt that does
// exist, so each stage's whole training work per token is credited exactly once.
double receipt_flops(const model::ModelConfig& model, int stages, Direction direction, int stage,
                     std::uint64_t tokens);

}  // namespace tessera::protocol

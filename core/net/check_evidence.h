// What a worker hands a spot checker for one slot (step, micro-batch, stage) of its committed work
// (core/protocol/spot_check.h): its parameters at the start of the step and what it received for
// the micro-batch, the Forward's activations and token ids and the Backward's gradient. Encoded
// here only, as one byte string that travels in CheckChunk pieces; decode() checks every count
// against the bytes left before it allocates, so a hostile worker costs a refused check only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/model/codec.h"

namespace tessera::net {

inline constexpr std::uint64_t kMaxEvidenceBytes = 2ull << 30;  // what a checker downloads at most

struct CheckEvidence {
  std::uint64_t step = 0;
  std::uint32_t micro_batch = 0;
  std::uint16_t stage = 0;
  std::vector<float> parameters;        // the stage's, in named_parameters() order
  std::int32_t batch = 0;               // sequences
  std::int32_t sequence = 0;            // tokens per sequence (T)
  std::vector<std::int32_t> tokens;     // [batch, T + 1], as the Forward brought them
  std::optional<model::Payload> forward;   // the activations received (not on stage 0)
  std::optional<model::Payload> backward;  // the gradient received (not on the last stage)

  // "TSEV" | version u8 | step u64 | micro-batch u32 | stage u16 | batch i32 | sequence i32
  // | token count u64 ‖ i32… | parameter count u64 ‖ f32… | present u8 (bit 0 forward, bit 1
  // backward) | each present payload: codec u8 | rank u8 | dims u64… | byte count u64 ‖ bytes.
  // Little-endian throughout.
  std::vector<std::uint8_t> encode() const;
  // Throws std::invalid_argument naming what is malformed.
  static CheckEvidence decode(std::span<const std::uint8_t> bytes);
};

}  // namespace tessera::net

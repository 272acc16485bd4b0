// Content digests of what crosses a stage boundary, the hashes receipts sign: BLAKE2b-256 over a
// domain tag, the shape and the bytes, so that a verifier who recomputes a stage's output gets
// the same digest as the receiver who signed for it, whatever the message around it carried
// (attempt, ticket, route). Token ids are digested on their own (the step record names each
// micro-batch's) and again inside the forward digest, which covers the ids travelling with it.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace tessera::protocol {

using PayloadDigest = std::array<std::uint8_t, 32>;

// "tessera/tokens/v1" ‖ count u64 ‖ ids as i32 little-endian.
PayloadDigest tokens_digest(std::span<const std::int32_t> tokens);
// A Forward's content: "tessera/forward/v1" ‖ codec u8 ‖ rank u8 ‖ dims u64… ‖ byte count u64 ‖
// bytes ‖ tokens_digest(tokens). Stage 0's input has no activations (rank 0, no bytes).
PayloadDigest forward_digest(std::uint8_t codec, std::span<const std::int64_t> shape,
                             std::span<const std::uint8_t> activations, std::span<const std::int32_t> tokens);
// A Backward's content: "tessera/backward/v1" ‖ codec u8 ‖ rank u8 ‖ dims u64… ‖ byte count u64 ‖ bytes.
PayloadDigest backward_digest(std::uint8_t codec, std::span<const std::int64_t> shape,
                              std::span<const std::uint8_t> gradient);
// A stage's weights at the start of a step: "tessera/weights/v1" ‖ count u64 ‖ floats as
// little-endian IEEE-754 binary32, in named_parameters() order.
PayloadDigest weights_digest(std::span<const float> parameters);

}  // namespace tessera::protocol

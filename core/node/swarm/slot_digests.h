// The content digests receipts sign (core/protocol/payload_digest.h) of the engine's payloads, as
// the receiver signs them, the sender checks them and a spot checker recomputes them: one
// spelling for all three.
#pragma once

#include <cstdint>
#include <span>

#include "core/model/codec.h"
#include "core/protocol/payload_digest.h"

namespace tessera::node::swarm {

inline protocol::PayloadDigest forward_digest_of(const model::Payload& activations, std::span<const std::int32_t> tokens) {
  return protocol::forward_digest(static_cast<std::uint8_t>(activations.codec), activations.shape, activations.bytes,
                                  tokens);
}

inline protocol::PayloadDigest backward_digest_of(const model::Payload& gradient) {
  return protocol::backward_digest(static_cast<std::uint8_t>(gradient.codec), gradient.shape, gradient.bytes);
}

}  // namespace tessera::node::swarm

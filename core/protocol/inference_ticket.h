// An inference ticket: the hub's signed word that one inference request (these token ids, this
// batch and sequence) may run once through these nodes, one per stage, until it expires. The hub's
// SwarmInference puts one on every Infer it sends to stage 0, and each stage passes it on with the
// request. A stage serves an Infer only with a ticket the run's hub key signed, that is current,
// names this node at its stage, came from the ticket's previous node (the hub for stage 0), binds
// the very token ids it carries, and that this node has not served before: a copied ticket buys
// nothing off its route, for other tokens, or a second time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/wallet/signing.h"

namespace tessera::protocol {

inline constexpr std::int64_t kMaxInferenceTicketLifetimeMs = 10 * 60 * 1000;

using TicketNonce = std::array<std::uint8_t, 16>;
using TokensHash = std::array<std::uint8_t, 32>;

// BLAKE2b-256 of the token ids as they travel (u32 little-endian each).
TokensHash inference_tokens_hash(std::span<const std::int32_t> tokens);

struct InferenceTicket {
  std::string run_id;
  TicketNonce nonce{};  // random per request: what a stage remembers to refuse a replay
  std::int64_t issued_ms = 0;
  std::int64_t expires_ms = 0;
  std::uint32_t batch = 0;
  std::uint32_t sequence = 0;
  TokensHash tokens_hash{};
  std::vector<wallet::PublicKey> route;  // one node per stage, stage 0 first

  // "TSIT" | version u8 | nonce[16] | issued i64 | expires i64 | batch u32 | sequence u32
  // | tokens hash[32] | run (u8 length ‖ bytes) | stages u8 | stages × key[32]: the signed bytes.
  // Throws std::invalid_argument for a run id or route the format cannot carry.
  std::vector<std::uint8_t> canonical_bytes() const;
  bool operator==(const InferenceTicket&) const = default;
};

struct SignedInferenceTicket {
  InferenceTicket ticket;
  wallet::Signature signature{};

  std::vector<std::uint8_t> encode() const;  // canonical bytes ‖ signature
  std::string to_hex() const;
  // Nothing for anything but exactly one encoded ticket (its signature is not checked here).
  static std::optional<SignedInferenceTicket> decode(std::span<const std::uint8_t> bytes);
  static std::optional<SignedInferenceTicket> from_hex(std::string_view text);
};

SignedInferenceTicket sign_inference_ticket(const InferenceTicket& ticket, const wallet::KeyPair& hub_key);

// What a stage expects of the ticket on an Infer it got.
struct InferenceExpectation {
  std::string run_id;
  wallet::PublicKey hub_key{};
  wallet::PublicKey self{};  // this node
  int stage = 0;             // this node's stage
  int stages = 0;            // the run's
  std::uint32_t batch = 0;
  std::uint32_t sequence = 0;
  TokensHash tokens_hash{};  // of the token ids the request carries
  std::int64_t now_ms = 0;
};

// Nothing when the hub signed the ticket for this run, request and node and it is current; else
// the first reason it is not. Who sent it and whether it was served before are the caller's.
std::optional<std::string> check_inference_ticket(const SignedInferenceTicket& signed_ticket,
                                                  const InferenceExpectation& expected);

}  // namespace tessera::protocol

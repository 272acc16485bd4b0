// An inference ticket: the hub's word that one inference request (these token ids, this batch
// and sequence) may run once through these nodes, one per stage, until it expires. The hub's
// SwarmInference puts one on every Infer it sends to stage 0, and each stage passes it on with the
// request. A stage serves an Infer only with a ticket the hub authenticated for it, that is
// current, names this node at its stage, came from the ticket's previous node (the hub for stage
// 0), binds the very token ids it carries, and that this node has not served before: a copied
// ticket buys nothing off its route, for other tokens, or a second time.
//
// The hub authenticates the ticket once for each node of the route: a 32-byte tag (BLAKE2b keyed
// MAC) under a key only the hub and that node can compute, crypto_kx over the run's hub key and the
// node key (both as their CurveZMQ X25519 forms). A node can check its own tag and forge nobody
// else's, which is all a signature gave here, for a microsecond per stage instead of a signature
// check per stage and token on the inference's critical path.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/wallet/secure_bytes.h"
#include "core/wallet/signing.h"

namespace tessera::protocol {

inline constexpr std::int64_t kMaxInferenceTicketLifetimeMs = 10 * 60 * 1000;
inline constexpr std::size_t kMaxInferenceStages = 64;

using TicketNonce = std::array<std::uint8_t, 16>;
using TokensHash = std::array<std::uint8_t, 32>;
using TicketTag = std::array<std::uint8_t, 32>;
using X25519Key = std::array<std::uint8_t, 32>;  // a CurveZMQ public key (net::CurvePublicKey)

// BLAKE2b-256 of the token ids as they travel (u32 little-endian each), then `layout`: a batched
// request's sequences (net::InferRequest::layout_bytes), so that no stage on the route can hand the
// next one other sessions or positions than the hub sent.
TokensHash inference_tokens_hash(std::span<const std::int32_t> tokens, std::span<const std::uint8_t> layout = {});

// The tag key the hub shares with one node: the hub's side (hub's X25519 pair, the node's public)
// and the node's side (its pair, the hub's public) compute the same 32 bytes. Throws
// std::invalid_argument for a key that is not a valid X25519 public key.
wallet::SecureBytes hub_ticket_key(const X25519Key& hub_public, const wallet::SecureBytes& hub_secret,
                                   const X25519Key& node_public);
wallet::SecureBytes node_ticket_key(const X25519Key& node_public, const wallet::SecureBytes& node_secret,
                                    const X25519Key& hub_public);

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
  // | tokens hash[32] | run (u8 length ‖ bytes) | stages u8 | stages × key[32]: the tagged bytes.
  // Throws std::invalid_argument for a run id or route the format cannot carry.
  std::vector<std::uint8_t> canonical_bytes() const;
  bool operator==(const InferenceTicket&) const = default;
};

struct AuthenticatedInferenceTicket {
  InferenceTicket ticket;
  std::vector<TicketTag> tags;  // one per stage of the route, in its order

  std::vector<std::uint8_t> encode() const;  // canonical bytes ‖ tags
  std::string to_hex() const;
  // Nothing for anything but exactly one encoded ticket (its tags are not checked here).
  static std::optional<AuthenticatedInferenceTicket> decode(std::span<const std::uint8_t> bytes);
  static std::optional<AuthenticatedInferenceTicket> from_hex(std::string_view text);
};

// The hub's side: `keys[k]` is hub_ticket_key for the route's node of stage k.
AuthenticatedInferenceTicket authenticate_inference_ticket(const InferenceTicket& ticket,
                                                           const std::vector<const wallet::SecureBytes*>& keys);

// What a stage expects of the ticket on an Infer it got.
struct InferenceExpectation {
  std::string run_id;
  const wallet::SecureBytes* key = nullptr;  // node_ticket_key of this node and the run's hub
  wallet::PublicKey self{};                  // this node
  int stage = 0;                             // this node's stage
  int stages = 0;                            // the run's
  std::uint32_t batch = 0;
  std::uint32_t sequence = 0;
  TokensHash tokens_hash{};                  // of the token ids the request carries
  std::int64_t now_ms = 0;
};

// Nothing when the hub authenticated the ticket for this run, request and node and it is current;
// else the first reason it is not. Who sent it and whether it was served before are the caller's.
std::optional<std::string> check_inference_ticket(const AuthenticatedInferenceTicket& ticket,
                                                  const InferenceExpectation& expected);

}  // namespace tessera::protocol

// A step ticket: the step driver's signed word that attempt A of step S of run R runs through
// these replicas (per stage, in key order, each with the endpoint the driver reaches it at), with
// M micro-batches of which up to `queue` may be
// ahead of another at a later stage. It rides on every Forward of the attempt. A stage checks its
// signature once per attempt, against the driver the hub names, and every Forward against it:
// micro-batch m comes from replica m mod R of the stage before (the driver itself for stage 0),
// is for this node, and goes on along the ticket's replicas, to the endpoints it names. So only the
// driver starts an attempt (which discards the last one's uncommitted work), only the neighbour the
// driver chose sends a stage a micro-batch, and no stage can send the next one's elsewhere.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/wallet/signing.h"

namespace tessera::protocol {

inline constexpr std::size_t kMaxTicketStages = 64;
inline constexpr std::size_t kMaxTicketReplicas = 255;  // per stage
inline constexpr std::size_t kMaxEndpoint = 200;        // as the hub takes them on join

struct TicketHop {
  wallet::PublicKey key{};
  std::string endpoint;
  bool operator==(const TicketHop&) const = default;
};

struct StepTicket {
  std::string run_id;
  std::uint64_t step = 0;
  std::uint64_t attempt = 0;
  wallet::PublicKey driver{};
  std::uint32_t micro_batches = 0;
  std::uint32_t queue = 0;
  std::vector<std::vector<TicketHop>> replicas;  // per stage, each non-empty

  // The replica of `stage` that micro-batch `micro_batch` goes through (stage < replicas.size()).
  const TicketHop& replica_for(std::size_t stage, std::uint32_t micro_batch) const {
    const auto& r = replicas[stage];
    return r[micro_batch % r.size()];
  }

  // "TSST" | version u8 | step u64 | attempt u64 | micro_batches u32 | queue u32 | driver[32]
  // | run (u8 length ‖ bytes) | stages u8 | per stage: count u8, count × (key[32] | endpoint
  // (u8 length ‖ bytes)): the signed bytes. Throws std::invalid_argument for a run id, endpoint or
  // replica lists the format cannot carry.
  std::vector<std::uint8_t> canonical_bytes() const;
  bool operator==(const StepTicket&) const = default;
};

struct SignedStepTicket {
  StepTicket ticket;
  wallet::Signature signature{};

  std::vector<std::uint8_t> encode() const;  // canonical bytes ‖ signature
  std::string to_hex() const;
  // Nothing for anything but exactly one encoded ticket (its signature is not checked here).
  static std::optional<SignedStepTicket> decode(std::span<const std::uint8_t> bytes);
  static std::optional<SignedStepTicket> from_hex(std::string_view text);
  // The signature is the named driver's.
  bool verify() const;
};

SignedStepTicket sign_step_ticket(const StepTicket& ticket, const wallet::KeyPair& driver_key);

}  // namespace tessera::protocol

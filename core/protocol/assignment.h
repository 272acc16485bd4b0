// A stage assignment: the hub's signed word that node key N serves stage S of run R between two
// times (Unix ms). The hub hands each member a fresh one with every join and heartbeat reply
// (key "assignment", hex of encode()); a node presents its own to a replica of its stage when it
// asks for that stage's state or gradients, and the replica checks it against the run's hub key.
// Short-lived, so a node that left or was moved to another stage loses that access within a
// minute. A hub without its hub key issues none (docs/swarm.md says what nodes do then).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/wallet/signing.h"

namespace tessera::protocol {

inline constexpr std::int64_t kAssignmentLifetimeMs = 30'000;

struct StageAssignment {
  std::string run_id;
  wallet::PublicKey node_key{};
  std::uint16_t stage = 0;
  std::int64_t issued_ms = 0;
  std::int64_t expires_ms = 0;

  // "TSAS" | version u8 | stage u16 | issued i64 | expires i64 | node key[32] | run (u8 length ‖ bytes):
  // the signed bytes. Throws std::invalid_argument for a run id that is not 1 to 64 bytes.
  std::vector<std::uint8_t> canonical_bytes() const;
  bool operator==(const StageAssignment&) const = default;
};

struct SignedStageAssignment {
  StageAssignment assignment;
  wallet::Signature signature{};

  std::vector<std::uint8_t> encode() const;  // canonical bytes ‖ signature
  std::string to_hex() const;
  // Nothing for anything but exactly one encoded assignment (its signature is not checked here).
  static std::optional<SignedStageAssignment> decode(std::span<const std::uint8_t> bytes);
  static std::optional<SignedStageAssignment> from_hex(std::string_view text);
};

SignedStageAssignment sign_assignment(const StageAssignment& assignment, const wallet::KeyPair& hub_key);

// What a replica expects of an assignment presented to it.
struct AssignmentExpectation {
  std::string run_id;
  wallet::PublicKey hub_key{};
  wallet::PublicKey node_key{};  // the requester, as its connection authenticated it
  int stage = 0;                 // the replica's own stage
  std::int64_t now_ms = 0;
};

// Nothing when the assignment is the hub's, for this run, requester and stage, and current
// (protocol/unix_time.h); else the first reason it is not.
std::optional<std::string> check_assignment(const SignedStageAssignment& signed_assignment,
                                            const AssignmentExpectation& expected);

}  // namespace tessera::protocol

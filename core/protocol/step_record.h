// A step record: the step driver's signed word that attempt A of step S of run R committed, which
// replicas served each stage (in the route order the hub's route seed gave them) and who committed.
// Micro-batch m of the step went through replicas[k][m mod R_k] at every stage k: the step's
// *slots* (step, micro-batch, stage) → node. The driver sends it to the hub when the step commits
// (POST /api/steps); the hub credits a receipt only when it matches a slot of a committed step
// (receipts_controller.cpp), and spot checks sample slots of committed steps (spot_check.h).
// `tokens_hashes[m]` is the content hash of micro-batch m's token ids (protocol/payload_digest.h),
// so a verifier can tell the tokens a stage was given are the step's.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/wallet/signing.h"

namespace tessera::protocol {

using Digest = std::array<std::uint8_t, 32>;

inline constexpr std::size_t kMaxRecordStages = 64;
inline constexpr std::size_t kMaxRecordReplicas = 255;       // per stage
inline constexpr std::size_t kMaxRecordMicroBatches = 4096;

struct StepRecord {
  std::string run_id;
  std::uint64_t step = 0;
  std::uint64_t attempt = 0;
  wallet::PublicKey driver{};
  std::uint32_t micro_batches = 0;
  std::uint32_t tokens_per_micro_batch = 0;        // micro_batch_size × context, as every receipt must say
  Digest route_seed{};                             // the hub's seed for this step (route_seed.h); zeros: none
  std::vector<std::vector<wallet::PublicKey>> replicas;    // per stage, in route order, each non-empty
  std::vector<std::vector<wallet::PublicKey>> committers;  // per stage, who installed the step
  std::vector<Digest> tokens_hashes;               // per micro-batch

  // The node that served `stage` for `micro_batch` (stage < replicas.size()).
  const wallet::PublicKey& slot(std::size_t stage, std::uint32_t micro_batch) const {
    const auto& r = replicas[stage];
    return r[micro_batch % r.size()];
  }

  // "TSSR" | version u8 | step u64 | attempt u64 | micro_batches u32 | tokens u32 | driver[32]
  // | seed[32] | run (u8 length ‖ bytes) | stages u8 | per stage: count u8, count × key[32]
  // | per stage: count u8, count × key[32] (committers) | micro_batches × digest[32]: the signed
  // bytes. Throws std::invalid_argument for what the format cannot carry (limits above).
  std::vector<std::uint8_t> canonical_bytes() const;
  bool operator==(const StepRecord&) const = default;
};

struct SignedStepRecord {
  StepRecord record;
  wallet::Signature signature{};

  std::vector<std::uint8_t> encode() const;  // canonical bytes ‖ signature
  std::string to_hex() const;
  // Nothing for anything but exactly one encoded record (its signature is not checked here).
  static std::optional<SignedStepRecord> decode(std::span<const std::uint8_t> bytes);
  static std::optional<SignedStepRecord> from_hex(std::string_view text);
  // The signature is the named driver's.
  bool verify() const;
};

SignedStepRecord sign_step_record(const StepRecord& record, const wallet::KeyPair& driver_key);

}  // namespace tessera::protocol

// Epoch statements: the hub publishes, per epoch, the Merkle root over every owner's
// (address, cumulative units, cumulative revenue, and the epoch's rejected receipts and spot
// checks passed and failed) with the totals and the epoch's events (nodes excluded from the run
// and why), signed by the run's hub key. A node checks the signature against the key in the run
// manifest and its own leaf's proof against the root before it records anything as earned.
// Version 3 leaves add each owner's cumulative data units (of its units) and the statement the
// run's total of them. Version 1 statements (before events and leaf activity) and version 2 ones
// (before data units) still verify as they were signed.
#pragma once

#include <cstdint>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/protocol/merkle.h"
#include "core/protocol/settlement.h"
#include "core/wallet/signing.h"

namespace tessera::protocol {

inline constexpr std::uint8_t kStatementVersion = 3;
inline constexpr std::size_t kMaxStatementEvents = 10000;

// Something the hub did to a node in the epoch, for everyone to see: kind "excluded" (its work
// failed a spot check, its weights differed from its replicas', or its report as a checker was
// contradicted: `reason` says which) at `step`.
struct StatementEvent {
  wallet::PublicKey node{};
  std::string owner;
  std::string kind;
  std::string reason;
  std::uint64_t step = 0;
  bool operator==(const StatementEvent&) const = default;
};

// BLAKE2b-256 of "tessera/statement-events/v1\0" ‖ count u64 ‖ per event: node[32] ‖ owner,
// kind, reason (each length u64 ‖ bytes) ‖ step u64 (integers little-endian).
Hash events_digest(const std::vector<StatementEvent>& events);

// What an epoch adds to its statement besides the balances.
struct OwnerActivity {
  std::uint64_t rejected_receipts = 0;
  std::uint64_t checks_passed = 0;
  std::uint64_t checks_failed = 0;
  bool operator==(const OwnerActivity&) const = default;
};
struct EpochActivity {
  std::vector<StatementEvent> events;
  std::map<std::string, OwnerActivity> owners;  // by owner address; absent: all zero
};

struct Statement {
  std::uint8_t version = kStatementVersion;
  std::string run_id;
  std::uint64_t epoch = 0;
  Hash root{};
  std::uint64_t owner_count = 0;
  std::uint64_t total_units = 0;
  std::uint64_t total_revenue = 0;    // cumulative, distributed
  std::uint64_t epoch_revenue = 0;    // earned during this epoch
  std::uint64_t carried_revenue = 0;  // not yet distributable
  wallet::PublicKey hub_key{};
  std::vector<StatementEvent> events;  // version 2
  wallet::Signature signature{};
  std::uint64_t total_data_units = 0;  // version 3: of total_units, those credited for data

  // Everything but the signature: "TSST1" ‖ run (length u64 ‖ bytes) ‖ epoch ‖ root[32] ‖
  // owner_count ‖ total_units ‖ total_revenue ‖ epoch_revenue ‖ carried_revenue (u64 each) ‖
  // hub_key[32]; version 2 begins "TSST2" and ends with events_digest(events); version 3 begins
  // "TSST3" and ends with events_digest(events) ‖ total_data_units u64.
  std::vector<std::uint8_t> canonical_bytes() const;
};

struct LeafProof {
  OwnerLeaf leaf;
  MerkleProof proof;
};

// One settled epoch as the hub serves it: the signed statement and every owner's proof.
class PublishedEpoch {
 public:
  // Leaves carry `activity`'s per-owner figures and the statement its events (version 2; a
  // version 1 epoch, rebuilt from an older hub's store, has neither) and, from version 3, each
  // owner's data units.
  PublishedEpoch(const std::string& run_id, const EpochSettlement& settlement, const wallet::KeyPair& hub_key,
                 const EpochActivity& activity = {}, std::uint8_t version = kStatementVersion);
  const Statement& statement() const { return statement_; }
  std::optional<LeafProof> proof_for(const std::string& owner) const;

 private:
  Statement statement_;
  std::vector<OwnerLeaf> leaves_;
  std::map<std::string, std::uint64_t> index_;
  MerkleTree tree_;
};

// The signature is the expected hub key's over the statement.
bool verify_statement(const Statement& statement, const wallet::PublicKey& expected_hub_key);
// The leaf belongs to the statement's tree (and the statement's owner count matches the proof),
// and carries no figure its version does not sign (leaf_fits_version).
bool verify_leaf(const Statement& statement, const LeafProof& leaf_proof);

nlohmann::json to_json(const Statement& statement);
Statement statement_from_json(const nlohmann::json& json);  // throws std::invalid_argument
nlohmann::json to_json(const LeafProof& leaf_proof);
LeafProof leaf_proof_from_json(const nlohmann::json& json);  // throws std::invalid_argument

}  // namespace tessera::protocol

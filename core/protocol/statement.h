// Epoch statements: the hub publishes, per epoch, the Merkle root over every owner's
// (address, cumulative units, cumulative revenue) with the totals, signed by the run's hub key.
// A node checks the signature against the key in the run manifest and its own leaf's proof
// against the root before it records anything as earned.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/protocol/merkle.h"
#include "core/protocol/settlement.h"
#include "core/wallet/signing.h"

namespace tessera::protocol {

struct Statement {
  std::string run_id;
  std::uint64_t epoch = 0;
  Hash root{};
  std::uint64_t owner_count = 0;
  std::uint64_t total_units = 0;
  std::uint64_t total_revenue = 0;    // cumulative, distributed
  std::uint64_t epoch_revenue = 0;    // earned during this epoch
  std::uint64_t carried_revenue = 0;  // not yet distributable
  wallet::PublicKey hub_key{};
  wallet::Signature signature{};

  std::vector<std::uint8_t> canonical_bytes() const;  // everything but the signature
};

struct LeafProof {
  OwnerLeaf leaf;
  MerkleProof proof;
};

// One settled epoch as the hub serves it: the signed statement and every owner's proof.
class PublishedEpoch {
 public:
  PublishedEpoch(const std::string& run_id, const EpochSettlement& settlement, const wallet::KeyPair& hub_key);
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
// The leaf belongs to the statement's tree (and the statement's owner count matches the proof).
bool verify_leaf(const Statement& statement, const LeafProof& leaf_proof);

nlohmann::json to_json(const Statement& statement);
Statement statement_from_json(const nlohmann::json& json);  // throws std::invalid_argument
nlohmann::json to_json(const LeafProof& leaf_proof);
LeafProof leaf_proof_from_json(const nlohmann::json& json);  // throws std::invalid_argument

}  // namespace tessera::protocol

// The Merkle tree over epoch statements' (owner, cumulative units, cumulative revenue) leaves.
// BLAKE2b-256 with domain separation: leaves and inner nodes are hashed under different tags,
// so a leaf can never pass for a node. An odd node at the end of a level moves up unchanged
// (no duplication, so no two leaf lists share a root).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::protocol {

using Hash = std::array<std::uint8_t, 32>;

struct OwnerLeaf {
  std::string owner;          // the owner's address (base58 of the owner public key)
  std::uint64_t units = 0;    // cumulative ownership units
  std::uint64_t revenue = 0;  // cumulative revenue, in micro-units
  // This epoch's verification figures over all the owner's nodes (core/hub/node_tally.h): receipts
  // the hub rejected, spot checks passed and failed. Signed with the rest, so the watch-only view
  // shows them from the statement alone.
  std::uint64_t epoch_rejected = 0;
  std::uint64_t epoch_checks_passed = 0;
  std::uint64_t epoch_checks_failed = 0;
  bool operator==(const OwnerLeaf&) const = default;
};

Hash leaf_hash(const OwnerLeaf& leaf);
Hash node_hash(const Hash& left, const Hash& right);
Hash empty_root();

struct MerkleProof {
  std::uint64_t index = 0;
  std::uint64_t leaf_count = 0;
  std::vector<Hash> siblings;  // bottom-up; levels where the node moves up unchanged have none
};

class MerkleTree {
 public:
  explicit MerkleTree(std::vector<Hash> leaves);
  const Hash& root() const { return root_; }
  std::uint64_t size() const { return levels_.empty() ? 0 : levels_.front().size(); }
  // Throws std::out_of_range for an index past the last leaf.
  MerkleProof proof(std::uint64_t index) const;

 private:
  std::vector<std::vector<Hash>> levels_;  // levels_[0] are the leaves
  Hash root_{};
};

bool verify_proof(const Hash& leaf, const MerkleProof& proof, const Hash& root);

}  // namespace tessera::protocol

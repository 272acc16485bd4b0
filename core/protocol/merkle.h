// The Merkle tree over epoch statements' leaves: per owner its cumulative units and revenue,
// (from statement version 2) what its nodes' work came to in the epoch: receipts rejected, spot
// checks passed and failed, so a watch-only view shows them from the statement alone, and (from
// version 3) how many of its cumulative units were credited for data rather than compute.
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
  // This epoch's, summed over the owner's nodes (hub::NodeTally); hashed from leaf version 2 on.
  std::uint64_t rejected_receipts = 0;
  std::uint64_t checks_passed = 0;
  std::uint64_t checks_failed = 0;
  // Of `units`, those credited for training on the owner's data shards (cumulative); leaf version 3.
  std::uint64_t data_units = 0;
  bool operator==(const OwnerLeaf&) const = default;
};

// The leaf layout of a statement version (statement.h kStatementVersion):
//   1: "tessera/merkle-leaf/v1\0" ‖ owner length u64 ‖ owner ‖ units u64 ‖ revenue u64
//   2: "tessera/merkle-leaf/v2\0" ‖ the same ‖ rejected_receipts u64 ‖ checks_passed u64 ‖ checks_failed u64
//   3: "tessera/merkle-leaf/v3\0" ‖ the version 2 fields ‖ data_units u64
// (integers little-endian). A layout ignores the fields it does not list.
Hash leaf_hash(const OwnerLeaf& leaf, std::uint8_t version = 3);
// Whether `leaf` holds only what layout `version` signs (the fields it ignores are zero), so a
// proof cannot carry unsigned figures past verification.
bool leaf_fits_version(const OwnerLeaf& leaf, std::uint8_t version);
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

// Merkle tree construction, proofs and verification.
#include "core/protocol/merkle.h"

#include <stdexcept>
#include <string>

#include <sodium.h>

namespace tessera::protocol {
namespace {

constexpr char kLeafTag[] = "tessera/merkle-leaf/v1";
constexpr char kLeafTagV2[] = "tessera/merkle-leaf/v2";
constexpr char kLeafTagV3[] = "tessera/merkle-leaf/v3";
constexpr char kNodeTag[] = "tessera/merkle-node/v1";
constexpr char kEmptyTag[] = "tessera/merkle-empty/v1";

void update_u64(crypto_generichash_state& state, std::uint64_t value) {
  std::uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
  crypto_generichash_update(&state, bytes, sizeof bytes);
}

void update_tag(crypto_generichash_state& state, const char* tag, std::size_t size) {
  crypto_generichash_update(&state, reinterpret_cast<const std::uint8_t*>(tag), size);  // includes the NUL
}

Hash finish(crypto_generichash_state& state) {
  Hash hash{};
  crypto_generichash_final(&state, hash.data(), hash.size());
  return hash;
}

}  // namespace

Hash leaf_hash(const OwnerLeaf& leaf, std::uint8_t version) {
  if (version < 1 || version > 3) throw std::invalid_argument("no Merkle leaf layout " + std::to_string(version));
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  if (version == 1) update_tag(state, kLeafTag, sizeof kLeafTag);
  else if (version == 2) update_tag(state, kLeafTagV2, sizeof kLeafTagV2);
  else update_tag(state, kLeafTagV3, sizeof kLeafTagV3);
  update_u64(state, leaf.owner.size());
  crypto_generichash_update(&state, reinterpret_cast<const std::uint8_t*>(leaf.owner.data()), leaf.owner.size());
  update_u64(state, leaf.units);
  update_u64(state, leaf.revenue);
  if (version >= 2) {
    update_u64(state, leaf.rejected_receipts);
    update_u64(state, leaf.checks_passed);
    update_u64(state, leaf.checks_failed);
  }
  if (version >= 3) update_u64(state, leaf.data_units);
  return finish(state);
}

bool leaf_fits_version(const OwnerLeaf& leaf, std::uint8_t version) {
  if (version < 2 && (leaf.rejected_receipts != 0 || leaf.checks_passed != 0 || leaf.checks_failed != 0)) return false;
  if (version < 3 && leaf.data_units != 0) return false;
  return true;
}

Hash node_hash(const Hash& left, const Hash& right) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  update_tag(state, kNodeTag, sizeof kNodeTag);
  crypto_generichash_update(&state, left.data(), left.size());
  crypto_generichash_update(&state, right.data(), right.size());
  return finish(state);
}

Hash empty_root() {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  update_tag(state, kEmptyTag, sizeof kEmptyTag);
  return finish(state);
}

MerkleTree::MerkleTree(std::vector<Hash> leaves) {
  if (leaves.empty()) {
    root_ = empty_root();
    return;
  }
  levels_.push_back(std::move(leaves));
  while (levels_.back().size() > 1) {
    const auto& below = levels_.back();
    std::vector<Hash> above;
    above.reserve((below.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2) above.push_back(node_hash(below[i], below[i + 1]));
    if (below.size() % 2 == 1) above.push_back(below.back());
    levels_.push_back(std::move(above));
  }
  root_ = levels_.back().front();
}

MerkleProof MerkleTree::proof(std::uint64_t index) const {
  if (index >= size()) throw std::out_of_range("no leaf " + std::to_string(index) + " in a tree of " + std::to_string(size()));
  MerkleProof proof;
  proof.index = index;
  proof.leaf_count = size();
  std::uint64_t position = index;
  for (std::size_t level = 0; level + 1 < levels_.size(); ++level) {
    const auto& nodes = levels_[level];
    const bool promoted = position % 2 == 0 && position == nodes.size() - 1;
    if (!promoted) proof.siblings.push_back(nodes[position % 2 == 0 ? position + 1 : position - 1]);
    position /= 2;
  }
  return proof;
}

bool verify_proof(const Hash& leaf, const MerkleProof& proof, const Hash& root) {
  if (proof.leaf_count == 0 || proof.index >= proof.leaf_count || proof.siblings.size() > 64) return false;
  Hash hash = leaf;
  std::uint64_t position = proof.index;
  std::uint64_t count = proof.leaf_count;
  std::size_t used = 0;
  while (count > 1) {
    const bool promoted = position % 2 == 0 && position == count - 1;
    if (!promoted) {
      if (used == proof.siblings.size()) return false;
      const Hash& sibling = proof.siblings[used++];
      hash = position % 2 == 0 ? node_hash(hash, sibling) : node_hash(sibling, hash);
    }
    position /= 2;
    count = (count + 1) / 2;
  }
  return used == proof.siblings.size() && sodium_memcmp(hash.data(), root.data(), hash.size()) == 0;
}

}  // namespace tessera::protocol

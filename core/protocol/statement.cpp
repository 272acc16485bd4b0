// Statement canonical bytes, signing, publishing and the JSON the hub serves.
#include "core/protocol/statement.h"

#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

template <std::size_t N>
std::array<std::uint8_t, N> hex_array(const nlohmann::json& json, const char* name) {
  if (!json.contains(name) || !json.at(name).is_string())
    throw std::invalid_argument(std::string("statement: missing ") + name);
  auto bytes = wallet::fixed_from_hex<N>(json.at(name).get<std::string>());
  if (!bytes) throw std::invalid_argument(std::string("statement: ") + name + " is not " + std::to_string(N) + " bytes of hex");
  return *bytes;
}

std::uint64_t number(const nlohmann::json& json, const char* name) {
  if (!json.contains(name) || !json.at(name).is_number_unsigned())
    throw std::invalid_argument(std::string("statement: ") + name + " must be a non-negative integer");
  return json.at(name).get<std::uint64_t>();
}

}  // namespace

std::vector<std::uint8_t> Statement::canonical_bytes() const {
  std::vector<std::uint8_t> out;
  const char magic[] = "TSST1";
  out.insert(out.end(), magic, magic + 5);
  put_u64(out, run_id.size());
  out.insert(out.end(), run_id.begin(), run_id.end());
  put_u64(out, epoch);
  out.insert(out.end(), root.begin(), root.end());
  put_u64(out, owner_count);
  put_u64(out, total_units);
  put_u64(out, total_revenue);
  put_u64(out, epoch_revenue);
  put_u64(out, carried_revenue);
  out.insert(out.end(), hub_key.begin(), hub_key.end());
  return out;
}

namespace {
std::vector<Hash> hashes_of(const std::vector<OwnerLeaf>& leaves) {
  std::vector<Hash> hashes;
  hashes.reserve(leaves.size());
  for (const auto& leaf : leaves) hashes.push_back(leaf_hash(leaf));
  return hashes;
}
}  // namespace

PublishedEpoch::PublishedEpoch(const std::string& run_id, const EpochSettlement& settlement,
                               const wallet::KeyPair& hub_key)
    : leaves_(statement_leaves(settlement.state)), tree_(hashes_of(leaves_)) {
  for (std::uint64_t i = 0; i < leaves_.size(); ++i) index_[leaves_[i].owner] = i;
  statement_.run_id = run_id;
  statement_.epoch = settlement.state.epoch;
  statement_.root = tree_.root();
  statement_.owner_count = leaves_.size();
  statement_.total_units = settlement.state.total_units();
  statement_.total_revenue = settlement.state.total_revenue();
  statement_.epoch_revenue = settlement.epoch_revenue;
  statement_.carried_revenue = settlement.state.carried_revenue;
  statement_.hub_key = hub_key.public_key();
  statement_.signature = hub_key.sign(wallet::SignatureDomain::Statement, statement_.canonical_bytes());
}

std::optional<LeafProof> PublishedEpoch::proof_for(const std::string& owner) const {
  const auto found = index_.find(owner);
  if (found == index_.end()) return std::nullopt;
  return LeafProof{leaves_[found->second], tree_.proof(found->second)};
}

bool verify_statement(const Statement& statement, const wallet::PublicKey& expected_hub_key) {
  if (statement.hub_key != expected_hub_key) return false;
  return wallet::verify(wallet::SignatureDomain::Statement, statement.canonical_bytes(), statement.signature,
                        expected_hub_key);
}

bool verify_leaf(const Statement& statement, const LeafProof& leaf_proof) {
  if (leaf_proof.proof.leaf_count != statement.owner_count) return false;
  return verify_proof(leaf_hash(leaf_proof.leaf), leaf_proof.proof, statement.root);
}

nlohmann::json to_json(const Statement& s) {
  return {{"run", s.run_id},
          {"epoch", s.epoch},
          {"root", wallet::to_hex(s.root)},
          {"owner_count", s.owner_count},
          {"total_units", s.total_units},
          {"total_revenue", s.total_revenue},
          {"epoch_revenue", s.epoch_revenue},
          {"carried_revenue", s.carried_revenue},
          {"hub_key", wallet::to_hex(s.hub_key)},
          {"signature", wallet::to_hex(s.signature)}};
}

Statement statement_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::invalid_argument("statement: not a JSON object");
  Statement s;
  if (!json.contains("run") || !json.at("run").is_string()) throw std::invalid_argument("statement: missing run");
  s.run_id = json.at("run").get<std::string>();
  s.epoch = number(json, "epoch");
  s.root = hex_array<32>(json, "root");
  s.owner_count = number(json, "owner_count");
  s.total_units = number(json, "total_units");
  s.total_revenue = number(json, "total_revenue");
  s.epoch_revenue = number(json, "epoch_revenue");
  s.carried_revenue = number(json, "carried_revenue");
  s.hub_key = hex_array<32>(json, "hub_key");
  s.signature = hex_array<64>(json, "signature");
  return s;
}

nlohmann::json to_json(const LeafProof& p) {
  nlohmann::json siblings = nlohmann::json::array();
  for (const auto& sibling : p.proof.siblings) siblings.push_back(wallet::to_hex(sibling));
  return {{"owner", p.leaf.owner},
          {"units", p.leaf.units},
          {"revenue", p.leaf.revenue},
          {"epoch_rejected", p.leaf.epoch_rejected},
          {"epoch_checks_passed", p.leaf.epoch_checks_passed},
          {"epoch_checks_failed", p.leaf.epoch_checks_failed},
          {"index", p.proof.index},
          {"leaf_count", p.proof.leaf_count},
          {"siblings", siblings}};
}

LeafProof leaf_proof_from_json(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("owner") || !json.at("owner").is_string())
    throw std::invalid_argument("proof: missing owner");
  LeafProof p;
  p.leaf.owner = json.at("owner").get<std::string>();
  p.leaf.units = number(json, "units");
  p.leaf.revenue = number(json, "revenue");
  p.leaf.epoch_rejected = number(json, "epoch_rejected");
  p.leaf.epoch_checks_passed = number(json, "epoch_checks_passed");
  p.leaf.epoch_checks_failed = number(json, "epoch_checks_failed");
  p.proof.index = number(json, "index");
  p.proof.leaf_count = number(json, "leaf_count");
  if (!json.contains("siblings") || !json.at("siblings").is_array() || json.at("siblings").size() > 64)
    throw std::invalid_argument("proof: siblings must be a list of at most 64 hashes");
  for (const auto& sibling : json.at("siblings")) {
    auto hash = sibling.is_string() ? wallet::fixed_from_hex<32>(sibling.get<std::string>()) : std::nullopt;
    if (!hash) throw std::invalid_argument("proof: a sibling is not 32 bytes of hex");
    p.proof.siblings.push_back(*hash);
  }
  return p;
}

}  // namespace tessera::protocol

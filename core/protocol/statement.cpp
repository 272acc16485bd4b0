// Statement canonical bytes (every version), the events digest, signing, publishing and the JSON
// the hub serves.
#include "core/protocol/statement.h"

#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/sys/json_number.h"
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
  const auto value = json.contains(name) ? sys::json_integer_if<std::uint64_t>(json.at(name)) : std::nullopt;
  if (!value) throw std::invalid_argument(std::string("statement: ") + name + " must be a non-negative integer");
  return *value;
}

std::uint64_t number_or_zero(const nlohmann::json& json, const char* name) {
  return json.contains(name) ? number(json, name) : 0;
}

bool known_version(std::uint8_t version) { return version >= 1 && version <= kStatementVersion; }

// At most 1,000 bytes: an owner address, an event kind or reason.
std::string text(const nlohmann::json& json, const char* name) {
  if (!json.contains(name) || !json.at(name).is_string() || json.at(name).get_ref<const std::string&>().size() > 1000)
    throw std::invalid_argument(std::string("statement: ") + name + " must be a string of at most 1,000 bytes");
  return json.at(name).get<std::string>();
}

}  // namespace

Hash events_digest(const std::vector<StatementEvent>& events) {
  std::vector<std::uint8_t> bytes;
  const char tag[] = "tessera/statement-events/v1";
  bytes.insert(bytes.end(), tag, tag + sizeof tag);  // with its NUL
  put_u64(bytes, events.size());
  const auto put_text = [&bytes](const std::string& text) {
    put_u64(bytes, text.size());
    bytes.insert(bytes.end(), text.begin(), text.end());
  };
  for (const auto& event : events) {
    bytes.insert(bytes.end(), event.node.begin(), event.node.end());
    put_text(event.owner);
    put_text(event.kind);
    put_text(event.reason);
    put_u64(bytes, event.step);
  }
  Hash digest{};
  crypto_generichash(digest.data(), digest.size(), bytes.data(), bytes.size(), nullptr, 0);
  return digest;
}

std::vector<std::uint8_t> Statement::canonical_bytes() const {
  if (!known_version(version)) throw std::invalid_argument("no statement version " + std::to_string(version));
  std::vector<std::uint8_t> out;
  const char* magic = version == 1 ? "TSST1" : version == 2 ? "TSST2" : "TSST3";
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
  if (version >= 2) {
    const auto digest = events_digest(events);
    out.insert(out.end(), digest.begin(), digest.end());
  }
  if (version >= 3) put_u64(out, total_data_units);
  return out;
}

namespace {
std::vector<Hash> hashes_of(const std::vector<OwnerLeaf>& leaves, std::uint8_t version) {
  std::vector<Hash> hashes;
  hashes.reserve(leaves.size());
  for (const auto& leaf : leaves) hashes.push_back(leaf_hash(leaf, version));
  return hashes;
}

std::vector<OwnerLeaf> leaves_with(const SettlementState& state, const EpochActivity& activity, std::uint8_t version) {
  auto leaves = statement_leaves(state);
  if (version < 3)
    for (auto& leaf : leaves) leaf.data_units = 0;  // not in the layout (an older epoch has none)
  if (version < 2) return leaves;
  for (auto& leaf : leaves) {
    const auto found = activity.owners.find(leaf.owner);
    if (found == activity.owners.end()) continue;
    leaf.rejected_receipts = found->second.rejected_receipts;
    leaf.checks_passed = found->second.checks_passed;
    leaf.checks_failed = found->second.checks_failed;
  }
  return leaves;
}
}  // namespace

PublishedEpoch::PublishedEpoch(const std::string& run_id, const EpochSettlement& settlement,
                               const wallet::KeyPair& hub_key, const EpochActivity& activity, std::uint8_t version)
    : leaves_(leaves_with(settlement.state, activity, version)), tree_(hashes_of(leaves_, version)) {
  for (std::uint64_t i = 0; i < leaves_.size(); ++i) index_[leaves_[i].owner] = i;
  statement_.version = version;
  statement_.run_id = run_id;
  statement_.epoch = settlement.state.epoch;
  statement_.root = tree_.root();
  statement_.owner_count = leaves_.size();
  statement_.total_units = settlement.state.total_units();
  statement_.total_revenue = settlement.state.total_revenue();
  statement_.epoch_revenue = settlement.epoch_revenue;
  statement_.carried_revenue = settlement.state.carried_revenue;
  statement_.hub_key = hub_key.public_key();
  if (version >= 2) statement_.events = activity.events;
  if (version >= 3) statement_.total_data_units = settlement.state.total_data_units();
  statement_.signature = hub_key.sign(wallet::SignatureDomain::Statement, statement_.canonical_bytes());
}

std::optional<LeafProof> PublishedEpoch::proof_for(const std::string& owner) const {
  const auto found = index_.find(owner);
  if (found == index_.end()) return std::nullopt;
  return LeafProof{leaves_[found->second], tree_.proof(found->second)};
}

bool verify_statement(const Statement& statement, const wallet::PublicKey& expected_hub_key) {
  if (statement.hub_key != expected_hub_key) return false;
  if (!known_version(statement.version)) return false;
  return wallet::verify(wallet::SignatureDomain::Statement, statement.canonical_bytes(), statement.signature,
                        expected_hub_key);
}

bool verify_leaf(const Statement& statement, const LeafProof& leaf_proof) {
  if (leaf_proof.proof.leaf_count != statement.owner_count) return false;
  if (!known_version(statement.version) || !leaf_fits_version(leaf_proof.leaf, statement.version)) return false;
  return verify_proof(leaf_hash(leaf_proof.leaf, statement.version), leaf_proof.proof, statement.root);
}

nlohmann::json to_json(const StatementEvent& e) {
  return {{"node", wallet::to_hex(e.node)}, {"owner", e.owner}, {"kind", e.kind}, {"reason", e.reason}, {"step", e.step}};
}

nlohmann::json to_json(const Statement& s) {
  nlohmann::json events = nlohmann::json::array();
  for (const auto& event : s.events) events.push_back(to_json(event));
  nlohmann::json out{{"version", s.version},
          {"events", events},
          {"run", s.run_id},
          {"epoch", s.epoch},
          {"root", wallet::to_hex(s.root)},
          {"owner_count", s.owner_count},
          {"total_units", s.total_units},
          {"total_revenue", s.total_revenue},
          {"epoch_revenue", s.epoch_revenue},
          {"carried_revenue", s.carried_revenue},
          {"hub_key", wallet::to_hex(s.hub_key)},
          {"signature", wallet::to_hex(s.signature)}};
  if (s.version >= 3) out["total_data_units"] = s.total_data_units;
  return out;
}

StatementEvent event_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::invalid_argument("statement: an event is not a JSON object");
  StatementEvent e;
  e.node = hex_array<32>(json, "node");
  e.owner = text(json, "owner");
  e.kind = text(json, "kind");
  e.reason = text(json, "reason");
  e.step = number(json, "step");
  return e;
}

// Version 1 statements have neither "version" nor "events".
void read_version_and_events(const nlohmann::json& json, Statement& s) {
  s.version = json.contains("version") ? sys::json_integer<std::uint8_t>(json.at("version"), "statement: version") : 1;
  if (!known_version(s.version)) throw std::invalid_argument("statement: unknown version");
  if (s.version == 1) return;
  const auto found = json.find("events");
  if (found == json.end() || !found->is_array() || found->size() > kMaxStatementEvents)
    throw std::invalid_argument("statement: events must be a list of at most " + std::to_string(kMaxStatementEvents));
  for (const auto& event : *found) s.events.push_back(event_from_json(event));
}

Statement statement_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::invalid_argument("statement: not a JSON object");
  Statement s;
  read_version_and_events(json, s);
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
  if (s.version >= 3) s.total_data_units = number(json, "total_data_units");
  return s;
}

nlohmann::json to_json(const LeafProof& p) {
  nlohmann::json siblings = nlohmann::json::array();
  for (const auto& sibling : p.proof.siblings) siblings.push_back(wallet::to_hex(sibling));
  return {{"owner", p.leaf.owner},
          {"units", p.leaf.units},
          {"revenue", p.leaf.revenue},
          {"rejected_receipts", p.leaf.rejected_receipts},
          {"checks_passed", p.leaf.checks_passed},
          {"checks_failed", p.leaf.checks_failed},
          {"data_units", p.leaf.data_units},
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
  p.leaf.rejected_receipts = number_or_zero(json, "rejected_receipts");  // absent in version 1 proofs
  p.leaf.checks_passed = number_or_zero(json, "checks_passed");
  p.leaf.checks_failed = number_or_zero(json, "checks_failed");
  p.leaf.data_units = number_or_zero(json, "data_units");  // absent before version 3
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

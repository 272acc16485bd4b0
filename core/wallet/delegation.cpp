// Node key file and delegation signing/verification.
#include "core/wallet/delegation.h"

#include <cstring>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "core/wallet/encoding.h"
#include "core/wallet/errors.h"
#include "core/wallet/secure_file.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/slip10.h"

namespace tessera::wallet {
namespace {

void put_be(std::uint8_t*& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) *out++ = static_cast<std::uint8_t>(value >> (8 * i));
}

template <std::size_t N>
std::array<std::uint8_t, N> fixed_from_base58(const nlohmann::json& document, const char* name) {
  const auto it = document.find(name);
  if (it == document.end() || !it->is_string()) throw std::invalid_argument(std::string("delegation: '") + name + "' is missing");
  const auto bytes = base58_decode(it->get<std::string>());
  if (!bytes || bytes->size() != N)
    throw std::invalid_argument(std::string("delegation: '") + name + "' is not base58 of " + std::to_string(N) + " bytes");
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace

KeyPair load_or_create_node_key(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) return read_solana_keypair_file(file);
  auto key = KeyPair::generate();
  try {
    write_file_atomic(file, format_solana_keypair(key).span(), {}, IfExists::Keep);
  } catch (const FileExists&) {
    return read_solana_keypair_file(file);  // another process created it a moment ago: use that one
  }
  spdlog::info("created the node key {} in {}", address_of(key.public_key()), file.string());
  return key;
}

std::vector<std::uint8_t> Delegation::signed_bytes() const {
  constexpr std::string_view label = "tessera-delegation";
  const auto owner = parse_address(owner_address);
  // The fixed-size part in an array, then the run id: GCC 12 at -O3 misreads a vector grown by
  // repeated inserts as overflowing (-Warray-bounds).
  std::array<std::uint8_t, label.size() + 32 + 32 + 8 + 4> head{};
  std::uint8_t* out = head.data();
  std::memcpy(out, label.data(), label.size());
  out += label.size();
  std::memcpy(out, node_key.data(), node_key.size());
  out += node_key.size();
  std::memcpy(out, owner.data(), owner.size());
  out += owner.size();
  put_be(out, static_cast<std::uint64_t>(expires_at), 8);
  put_be(out, run_id.size(), 4);
  std::vector<std::uint8_t> bytes(head.size() + run_id.size());
  std::copy(head.begin(), head.end(), bytes.begin());
  std::copy(run_id.begin(), run_id.end(), bytes.begin() + static_cast<std::ptrdiff_t>(head.size()));
  return bytes;
}

nlohmann::json Delegation::to_json() const {
  return {{"node_key", base58_encode(node_key)},
          {"owner", owner_address},
          {"run", run_id},
          {"expires_at", expires_at},
          {"signature", base58_encode(signature)}};
}

Delegation Delegation::from_json(const nlohmann::json& document) {
  if (!document.is_object()) throw std::invalid_argument("delegation: not a JSON object");
  Delegation delegation;
  delegation.node_key = fixed_from_base58<32>(document, "node_key");
  delegation.signature = fixed_from_base58<64>(document, "signature");
  const auto owner = document.find("owner");
  const auto run = document.find("run");
  const auto expires = document.find("expires_at");
  if (owner == document.end() || !owner->is_string()) throw std::invalid_argument("delegation: 'owner' is missing");
  if (run == document.end() || !run->is_string() || run->get<std::string>().empty())
    throw std::invalid_argument("delegation: 'run' is missing");
  if (expires == document.end() || !expires->is_number_integer())
    throw std::invalid_argument("delegation: 'expires_at' is missing or not an integer");
  delegation.owner_address = owner->get<std::string>();
  delegation.run_id = run->get<std::string>();
  delegation.expires_at = expires->get<std::int64_t>();
  return delegation;
}

Delegation sign_delegation(const KeyPair& owner, const PublicKey& node_key, std::string run_id, std::int64_t expires_at) {
  if (run_id.empty()) throw std::invalid_argument("a delegation names a run id, or * for any run");
  Delegation delegation;
  delegation.node_key = node_key;
  delegation.owner_address = address_of(owner.public_key());
  delegation.run_id = std::move(run_id);
  delegation.expires_at = expires_at;
  delegation.signature = owner.sign(SignatureDomain::Delegation, delegation.signed_bytes());
  return delegation;
}

std::string_view describe(DelegationStatus status) {
  switch (status) {
    case DelegationStatus::Valid: return "valid";
    case DelegationStatus::BadSignature: return "the owner's signature does not verify";
    case DelegationStatus::Expired: return "the delegation has expired: sign a new one with `tessera-node wallet delegate`";
    case DelegationStatus::WrongNode: return "the delegation is for another node key";
    case DelegationStatus::WrongRun: return "the delegation is for another run";
    case DelegationStatus::MalformedOwner: return "the owner address is not a valid Solana address";
  }
  return "unknown";
}

DelegationStatus verify_delegation(const Delegation& delegation, const PublicKey& node_key, std::string_view run_id,
                                   std::int64_t now) {
  PublicKey owner{};
  try {
    owner = parse_address(delegation.owner_address);
  } catch (const std::invalid_argument&) {
    return DelegationStatus::MalformedOwner;
  }
  if (!verify(SignatureDomain::Delegation, delegation.signed_bytes(), delegation.signature, owner))
    return DelegationStatus::BadSignature;
  if (delegation.node_key != node_key) return DelegationStatus::WrongNode;
  if (delegation.run_id != kAnyRun && delegation.run_id != run_id) return DelegationStatus::WrongRun;
  if (now >= delegation.expires_at) return DelegationStatus::Expired;
  return DelegationStatus::Valid;
}

}  // namespace tessera::wallet

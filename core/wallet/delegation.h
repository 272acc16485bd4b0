// The node key and delegations. The node key is a separate Ed25519 key per machine, stored
// unencrypted with mode 0600 (like an SSH host key), so the daemon never needs the wallet password.
// The owner key signs a delegation: "node key N works for owner A in run R (or any run) until T";
// the hub checks it with verify_delegation().
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/wallet/signing.h"

namespace tessera::wallet {

constexpr const char* kNodeKeyFileName = "node_key.json";
constexpr const char* kAnyRun = "*";

// Loads the node key (a Solana keypair file) or, on first use, creates it (mode 0600). Warns when
// the file's permissions are too open. Throws InvalidKeypairFile / WalletError.
KeyPair load_or_create_node_key(const std::filesystem::path& file);

struct Delegation {
  PublicKey node_key{};
  std::string owner_address;  // base58 of the owner's public key
  std::string run_id = kAnyRun;
  std::int64_t expires_at = 0;  // Unix seconds, UTC
  Signature signature{};

  // What the owner signs (in the Delegation domain): "tessera-delegation" ‖ node key (32) ‖ owner
  // key (32) ‖ expiry (8, big-endian) ‖ run id length (4, big-endian) ‖ run id (UTF-8).
  std::vector<std::uint8_t> signed_bytes() const;

  nlohmann::json to_json() const;
  // Throws std::invalid_argument naming the bad field.
  static Delegation from_json(const nlohmann::json& document);
};

Delegation sign_delegation(const KeyPair& owner, const PublicKey& node_key, std::string run_id, std::int64_t expires_at);

enum class DelegationStatus { Valid, BadSignature, Expired, WrongNode, WrongRun, MalformedOwner };
std::string_view describe(DelegationStatus status);

// Checks the signature against the owner address, that the delegation names `node_key`, covers
// `run_id` (or any run), and has not expired at `now` (Unix seconds).
DelegationStatus verify_delegation(const Delegation& delegation, const PublicKey& node_key, std::string_view run_id,
                                   std::int64_t now);

}  // namespace tessera::wallet

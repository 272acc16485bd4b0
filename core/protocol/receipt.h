// Receipts: the receiver of a stage's forward or backward payload acknowledges it by signing
// (run, step, micro-batch, direction, sender, receiver, stage, tokens, payload hash) with its
// node key. A node's work counts only with its neighbour's receipt.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/wallet/signing.h"

namespace tessera::protocol {

enum class Direction : std::uint8_t { Forward = 1, Backward = 2 };

struct Receipt {
  std::string run_id;
  std::uint64_t step = 0;
  std::uint32_t micro_batch = 0;
  Direction direction = Direction::Forward;
  wallet::PublicKey sender{};    // node key of the stage that did the work and sent the payload
  wallet::PublicKey receiver{};  // node key of the stage that received it and signs
  std::uint16_t stage = 0;       // the sender's stage
  std::uint32_t tokens = 0;
  std::array<std::uint8_t, 32> payload_hash{};

  // Fixed little-endian layout, the bytes that are signed.
  std::vector<std::uint8_t> canonical_bytes() const;
  bool operator==(const Receipt&) const = default;
};

struct SignedReceipt {
  Receipt receipt;
  wallet::Signature signature{};

  // canonical bytes ‖ signature: what travels and what the contribution log stores raw.
  std::vector<std::uint8_t> encode() const;
  // Nothing for bytes that are not exactly one encoded receipt.
  static std::optional<SignedReceipt> decode(std::span<const std::uint8_t> bytes);
  // A stable id: hex of BLAKE2b-128 over encode().
  std::string id() const;
};

SignedReceipt sign_receipt(const Receipt& receipt, const wallet::KeyPair& receiver_key);
// True when the signature is the receiver's over this receipt.
bool verify_receipt(const SignedReceipt& signed_receipt);

// What a receipt must say to be accepted for some work: every field that is set must match.
struct ReceiptExpectation {
  std::string run_id;
  std::optional<std::uint64_t> step;
  std::optional<std::uint32_t> micro_batch;
  std::optional<Direction> direction;
  std::optional<wallet::PublicKey> sender;
  std::optional<wallet::PublicKey> receiver;
  std::optional<std::uint16_t> stage;
  std::optional<std::uint32_t> tokens;  // the manifest's micro_batch_size × context
  std::optional<std::array<std::uint8_t, 32>> payload_hash;
};

// The one receipt check, used by nodes and the hub: nothing when the receipt says what was
// expected and its receiver's signature verifies, else the first reason it does not.
std::optional<std::string> check_receipt(const SignedReceipt& signed_receipt, const ReceiptExpectation& expected);

nlohmann::json to_json(const SignedReceipt& signed_receipt);
// Throws std::invalid_argument naming the bad field.
SignedReceipt signed_receipt_from_json(const nlohmann::json& json);

}  // namespace tessera::protocol

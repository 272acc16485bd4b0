// Receipt canonical bytes, signing and the JSON form the hub receives.
//   "TSRC" | version u8 | direction u8 | stage u16 | step u64 | micro_batch u32 | tokens u32
//   | sender[32] | receiver[32] | payload_hash[32] | run_len u8 | run id
#include "core/protocol/receipt.h"

#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/protocol/little_endian.h"
#include "core/sys/json_number.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::uint8_t kReceiptVersion = 1;
constexpr std::size_t kFixed = 4 + 1 + 1 + 2 + 8 + 4 + 4 + 32 + 32 + 32 + 1;

void check_run_id(const std::string& run_id) {
  if (run_id.empty() || run_id.size() > 64)
    throw std::invalid_argument("a receipt's run id has 1 to 64 characters");
}

}  // namespace

std::vector<std::uint8_t> Receipt::canonical_bytes() const {
  check_run_id(run_id);
  std::vector<std::uint8_t> out(kFixed + run_id.size());
  std::uint8_t* p = out.data();
  std::memcpy(p, "TSRC", 4);
  p[4] = kReceiptVersion;
  p[5] = static_cast<std::uint8_t>(direction);
  put_le<std::uint16_t>(p + 6, stage);
  put_le<std::uint64_t>(p + 8, step);
  put_le<std::uint32_t>(p + 16, micro_batch);
  put_le<std::uint32_t>(p + 20, tokens);
  std::memcpy(p + 24, sender.data(), 32);
  std::memcpy(p + 56, receiver.data(), 32);
  std::memcpy(p + 88, payload_hash.data(), 32);
  p[120] = static_cast<std::uint8_t>(run_id.size());
  std::memcpy(p + kFixed, run_id.data(), run_id.size());
  return out;
}

std::vector<std::uint8_t> SignedReceipt::encode() const {
  auto bytes = receipt.canonical_bytes();
  bytes.insert(bytes.end(), signature.begin(), signature.end());
  return bytes;
}

std::optional<SignedReceipt> SignedReceipt::decode(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kFixed + 1 + 64) return std::nullopt;
  const std::uint8_t* p = bytes.data();
  if (std::memcmp(p, "TSRC", 4) != 0 || p[4] != kReceiptVersion) return std::nullopt;
  if (p[5] != static_cast<std::uint8_t>(Direction::Forward) && p[5] != static_cast<std::uint8_t>(Direction::Backward))
    return std::nullopt;
  const std::size_t run_len = p[120];
  if (run_len == 0 || run_len > 64 || bytes.size() != kFixed + run_len + 64) return std::nullopt;
  SignedReceipt out;
  Receipt& r = out.receipt;
  r.direction = static_cast<Direction>(p[5]);
  r.stage = get_le<std::uint16_t>(p + 6);
  r.step = get_le<std::uint64_t>(p + 8);
  r.micro_batch = get_le<std::uint32_t>(p + 16);
  r.tokens = get_le<std::uint32_t>(p + 20);
  std::memcpy(r.sender.data(), p + 24, 32);
  std::memcpy(r.receiver.data(), p + 56, 32);
  std::memcpy(r.payload_hash.data(), p + 88, 32);
  r.run_id.assign(reinterpret_cast<const char*>(p + kFixed), run_len);
  std::memcpy(out.signature.data(), p + kFixed + run_len, 64);
  return out;
}

std::string SignedReceipt::id() const {
  const auto bytes = encode();
  std::array<std::uint8_t, 16> hash{};
  crypto_generichash(hash.data(), hash.size(), bytes.data(), bytes.size(), nullptr, 0);
  return wallet::to_hex(hash);
}

SignedReceipt sign_receipt(const Receipt& receipt, const wallet::KeyPair& receiver_key) {
  if (receipt.receiver != receiver_key.public_key())
    throw std::invalid_argument("a receipt is signed by its receiver, and this key is not the receiver's");
  return SignedReceipt{receipt, receiver_key.sign(wallet::SignatureDomain::Receipt, receipt.canonical_bytes())};
}

bool verify_receipt(const SignedReceipt& signed_receipt) {
  const auto& receipt = signed_receipt.receipt;
  if (receipt.run_id.empty() || receipt.run_id.size() > 64) return false;
  return wallet::verify(wallet::SignatureDomain::Receipt, receipt.canonical_bytes(), signed_receipt.signature,
                        receipt.receiver);
}

nlohmann::json to_json(const SignedReceipt& signed_receipt) {
  const auto& r = signed_receipt.receipt;
  return {{"run", r.run_id},
          {"step", r.step},
          {"micro_batch", r.micro_batch},
          {"direction", r.direction == Direction::Forward ? "forward" : "backward"},
          {"sender", wallet::to_hex(r.sender)},
          {"receiver", wallet::to_hex(r.receiver)},
          {"stage", r.stage},
          {"tokens", r.tokens},
          {"payload_hash", wallet::to_hex(r.payload_hash)},
          {"signature", wallet::to_hex(signed_receipt.signature)}};
}

SignedReceipt signed_receipt_from_json(const nlohmann::json& json) {
  const auto field = [&](const char* name) -> const nlohmann::json& {
    if (!json.is_object() || !json.contains(name)) throw std::invalid_argument(std::string("receipt: missing ") + name);
    return json.at(name);
  };
  const auto hex_field = [&]<std::size_t N>(const char* name, std::array<std::uint8_t, N>& out) {
    const auto& value = field(name);
    std::optional<std::array<std::uint8_t, N>> bytes;
    if (value.is_string()) bytes = wallet::fixed_from_hex<N>(value.get<std::string>());
    if (!bytes) throw std::invalid_argument(std::string("receipt: ") + name + " is not " + std::to_string(N) + " bytes of hex");
    out = *bytes;
  };
  try {
    SignedReceipt out;
    Receipt& r = out.receipt;
    r.run_id = field("run").get<std::string>();
    check_run_id(r.run_id);
    r.step = sys::json_integer<std::uint64_t>(field("step"), "receipt: step");
    r.micro_batch = sys::json_integer<std::uint32_t>(field("micro_batch"), "receipt: micro_batch");
    const auto direction = field("direction").get<std::string>();
    if (direction != "forward" && direction != "backward")
      throw std::invalid_argument("receipt: direction is forward or backward");
    r.direction = direction == "forward" ? Direction::Forward : Direction::Backward;
    r.stage = sys::json_integer<std::uint16_t>(field("stage"), "receipt: stage");
    r.tokens = sys::json_integer<std::uint32_t>(field("tokens"), "receipt: tokens");
    hex_field("sender", r.sender);
    hex_field("receiver", r.receiver);
    hex_field("payload_hash", r.payload_hash);
    hex_field("signature", out.signature);
    return out;
  } catch (const nlohmann::json::exception& error) {
    throw std::invalid_argument(std::string("receipt: ") + error.what());
  }
}

std::optional<std::string> check_receipt(const SignedReceipt& signed_receipt, const ReceiptExpectation& expected) {
  const auto& r = signed_receipt.receipt;
  if (r.run_id != expected.run_id) return "another run";
  if (expected.step && r.step != *expected.step) return "another step";
  if (expected.micro_batch && r.micro_batch != *expected.micro_batch) return "another micro-batch";
  if (expected.direction && r.direction != *expected.direction) return "the other direction";
  if (expected.sender && r.sender != *expected.sender) return "the receipt is not for the reporting node's work";
  if (expected.receiver && r.receiver != *expected.receiver) return "another receiver";
  if (expected.stage && r.stage != *expected.stage) return "another stage";
  if (expected.tokens && r.tokens != *expected.tokens)
    return "tokens " + std::to_string(r.tokens) + " where the run allows " + std::to_string(*expected.tokens);
  if (expected.payload_hash && r.payload_hash != *expected.payload_hash) return "another payload";
  if (!verify_receipt(signed_receipt)) return "the receiver's signature does not verify";
  return std::nullopt;
}

}  // namespace tessera::protocol

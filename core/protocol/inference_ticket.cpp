// Inference tickets: the byte layout, the hub's signature and the one check.
#include "core/protocol/inference_ticket.h"

#include <stdexcept>

#include <sodium.h>

#include "core/protocol/byte_fields.h"
#include "core/protocol/unix_time.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::uint8_t kTag[] = {'T', 'S', 'I', 'T'};
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxStages = 64;

}  // namespace

TokensHash inference_tokens_hash(std::span<const std::int32_t> tokens) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  for (const auto token : tokens) {
    std::uint8_t bytes[4];
    put_le<std::uint32_t>(bytes, static_cast<std::uint32_t>(token));
    crypto_generichash_update(&state, bytes, sizeof bytes);
  }
  TokensHash out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

std::vector<std::uint8_t> InferenceTicket::canonical_bytes() const {
  if (run_id.empty() || run_id.size() > 64) throw std::invalid_argument("a ticket's run id has 1 to 64 characters");
  if (route.empty() || route.size() > kMaxStages) throw std::invalid_argument("a ticket's route has 1 to 64 stages");
  ByteWriter out;
  out.put_bytes(kTag);
  out.put<std::uint8_t>(kVersion);
  out.put_bytes(nonce);
  out.put<std::int64_t>(issued_ms);
  out.put<std::int64_t>(expires_ms);
  out.put<std::uint32_t>(batch);
  out.put<std::uint32_t>(sequence);
  out.put_bytes(tokens_hash);
  out.put_run(run_id);
  out.put<std::uint8_t>(static_cast<std::uint8_t>(route.size()));
  for (const auto& key : route) out.put_bytes(key);
  return out.take();
}

std::vector<std::uint8_t> SignedInferenceTicket::encode() const {
  auto bytes = ticket.canonical_bytes();
  bytes.insert(bytes.end(), signature.begin(), signature.end());
  return bytes;
}

std::string SignedInferenceTicket::to_hex() const { return wallet::to_hex(encode()); }

std::optional<SignedInferenceTicket> SignedInferenceTicket::decode(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes);
  if (!in.expect(kTag) || in.get<std::uint8_t>() != kVersion) return std::nullopt;
  SignedInferenceTicket out;
  auto& t = out.ticket;
  t.nonce = in.get_fixed<16>();
  t.issued_ms = in.get<std::int64_t>();
  t.expires_ms = in.get<std::int64_t>();
  t.batch = in.get<std::uint32_t>();
  t.sequence = in.get<std::uint32_t>();
  t.tokens_hash = in.get_fixed<32>();
  t.run_id = in.get_run();
  const auto stages = in.get<std::uint8_t>();
  if (stages == 0 || stages > kMaxStages || in.remaining() < 32ull * stages) return std::nullopt;
  for (std::size_t k = 0; k < stages; ++k) t.route.push_back(in.get_fixed<32>());
  out.signature = in.get_fixed<64>();
  if (!in.done()) return std::nullopt;
  return out;
}

std::optional<SignedInferenceTicket> SignedInferenceTicket::from_hex(std::string_view text) {
  if (text.size() > 2 * (4 + 1 + 16 + 8 + 8 + 4 + 4 + 32 + 65 + 1 + 32 * kMaxStages + 64)) return std::nullopt;
  const auto bytes = wallet::from_hex(text);
  return bytes ? decode(*bytes) : std::nullopt;
}

SignedInferenceTicket sign_inference_ticket(const InferenceTicket& ticket, const wallet::KeyPair& hub_key) {
  return {ticket, hub_key.sign(wallet::SignatureDomain::InferenceTicket, ticket.canonical_bytes())};
}

std::optional<std::string> check_inference_ticket(const SignedInferenceTicket& signed_ticket,
                                                  const InferenceExpectation& expected) {
  const auto& t = signed_ticket.ticket;
  if (t.run_id != expected.run_id) return "a ticket for another run";
  if (static_cast<int>(t.route.size()) != expected.stages || expected.stage < 0 || expected.stage >= expected.stages)
    return "a ticket whose route does not cover the run's stages";
  if (t.route[static_cast<std::size_t>(expected.stage)] != expected.self) return "a ticket for another node";
  if (t.batch != expected.batch || t.sequence != expected.sequence || t.tokens_hash != expected.tokens_hash)
    return "a ticket for other tokens";
  if (t.expires_ms < t.issued_ms || t.expires_ms - t.issued_ms > kMaxInferenceTicketLifetimeMs)
    return "a ticket with an impossible lifetime";
  if (!within_lifetime(expected.now_ms, t.issued_ms, t.expires_ms)) return "an expired ticket";
  if (!wallet::verify(wallet::SignatureDomain::InferenceTicket, t.canonical_bytes(), signed_ticket.signature,
                      expected.hub_key))
    return "a ticket the hub did not sign";
  return std::nullopt;
}

}  // namespace tessera::protocol

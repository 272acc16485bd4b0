// Inference tickets: the byte layout, the hub's per-stage tags and the one check.
#include "core/protocol/inference_ticket.h"

#include <stdexcept>

#include <sodium.h>

#include "core/protocol/byte_fields.h"
#include "core/protocol/unix_time.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::uint8_t kTag[] = {'T', 'S', 'I', 'T'};
constexpr std::uint8_t kVersion = 2;
constexpr char kContext[] = "tessera/inference-ticket/v2";

// A keyed BLAKE2b-256 of the ticket's bytes, in this format's context.
TicketTag tag_of(std::span<const std::uint8_t> bytes, const wallet::SecureBytes& key) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.data(), key.size(), crypto_generichash_BYTES);
  crypto_generichash_update(&state, reinterpret_cast<const std::uint8_t*>(kContext), sizeof kContext);
  crypto_generichash_update(&state, bytes.data(), bytes.size());
  TicketTag out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

}  // namespace

TokensHash inference_tokens_hash(std::span<const std::int32_t> tokens, std::span<const std::uint8_t> layout) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  for (const auto token : tokens) {
    std::uint8_t bytes[4];
    put_le<std::uint32_t>(bytes, static_cast<std::uint32_t>(token));
    crypto_generichash_update(&state, bytes, sizeof bytes);
  }
  if (!layout.empty()) crypto_generichash_update(&state, layout.data(), layout.size());
  TokensHash out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

// crypto_kx with the hub as the server and the node as the client: the hub's transmit key is
// the node's receive key.
wallet::SecureBytes hub_ticket_key(const X25519Key& hub_public, const wallet::SecureBytes& hub_secret,
                                   const X25519Key& node_public) {
  wallet::ensure_sodium();
  wallet::SecureBytes receive(crypto_kx_SESSIONKEYBYTES), transmit(crypto_kx_SESSIONKEYBYTES);
  if (hub_secret.size() != crypto_kx_SECRETKEYBYTES ||
      crypto_kx_server_session_keys(receive.data(), transmit.data(), hub_public.data(), hub_secret.data(),
                                    node_public.data()) != 0)
    throw std::invalid_argument("not an X25519 key: no inference ticket key with it");
  return transmit;
}

wallet::SecureBytes node_ticket_key(const X25519Key& node_public, const wallet::SecureBytes& node_secret,
                                    const X25519Key& hub_public) {
  wallet::ensure_sodium();
  wallet::SecureBytes receive(crypto_kx_SESSIONKEYBYTES), transmit(crypto_kx_SESSIONKEYBYTES);
  if (node_secret.size() != crypto_kx_SECRETKEYBYTES ||
      crypto_kx_client_session_keys(receive.data(), transmit.data(), node_public.data(), node_secret.data(),
                                    hub_public.data()) != 0)
    throw std::invalid_argument("not an X25519 key: no inference ticket key with it");
  return receive;
}

std::vector<std::uint8_t> InferenceTicket::canonical_bytes() const {
  if (run_id.empty() || run_id.size() > 64) throw std::invalid_argument("a ticket's run id has 1 to 64 characters");
  if (route.empty() || route.size() > kMaxInferenceStages) throw std::invalid_argument("a ticket's route has 1 to 64 stages");
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

std::vector<std::uint8_t> AuthenticatedInferenceTicket::encode() const {
  auto bytes = ticket.canonical_bytes();
  for (const auto& tag : tags) bytes.insert(bytes.end(), tag.begin(), tag.end());
  return bytes;
}

std::string AuthenticatedInferenceTicket::to_hex() const { return wallet::to_hex(encode()); }

std::optional<AuthenticatedInferenceTicket> AuthenticatedInferenceTicket::decode(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes);
  if (!in.expect(kTag) || in.get<std::uint8_t>() != kVersion) return std::nullopt;
  AuthenticatedInferenceTicket out;
  auto& t = out.ticket;
  t.nonce = in.get_fixed<16>();
  t.issued_ms = in.get<std::int64_t>();
  t.expires_ms = in.get<std::int64_t>();
  t.batch = in.get<std::uint32_t>();
  t.sequence = in.get<std::uint32_t>();
  t.tokens_hash = in.get_fixed<32>();
  t.run_id = in.get_run();
  const auto stages = in.get<std::uint8_t>();
  if (stages == 0 || stages > kMaxInferenceStages || in.remaining() != 64ull * stages) return std::nullopt;
  for (std::size_t k = 0; k < stages; ++k) t.route.push_back(in.get_fixed<32>());
  for (std::size_t k = 0; k < stages; ++k) out.tags.push_back(in.get_fixed<32>());
  if (!in.done()) return std::nullopt;
  return out;
}

std::optional<AuthenticatedInferenceTicket> AuthenticatedInferenceTicket::from_hex(std::string_view text) {
  if (text.size() > 2 * (4 + 1 + 16 + 8 + 8 + 4 + 4 + 32 + 65 + 1 + 64 * kMaxInferenceStages)) return std::nullopt;
  const auto bytes = wallet::from_hex(text);
  return bytes ? decode(*bytes) : std::nullopt;
}

AuthenticatedInferenceTicket authenticate_inference_ticket(const InferenceTicket& ticket,
                                                           const std::vector<const wallet::SecureBytes*>& keys) {
  if (keys.size() != ticket.route.size()) throw std::invalid_argument("an inference ticket needs one key per stage");
  const auto bytes = ticket.canonical_bytes();
  AuthenticatedInferenceTicket out{ticket, {}};
  for (const auto* key : keys) out.tags.push_back(tag_of(bytes, *key));
  return out;
}

std::optional<std::string> check_inference_ticket(const AuthenticatedInferenceTicket& authenticated,
                                                  const InferenceExpectation& expected) {
  const auto& t = authenticated.ticket;
  if (t.run_id != expected.run_id) return "a ticket for another run";
  if (static_cast<int>(t.route.size()) != expected.stages || expected.stage < 0 || expected.stage >= expected.stages ||
      authenticated.tags.size() != t.route.size())
    return "a ticket whose route does not cover the run's stages";
  const auto k = static_cast<std::size_t>(expected.stage);
  if (t.route[k] != expected.self) return "a ticket for another node";
  if (t.batch != expected.batch || t.sequence != expected.sequence || t.tokens_hash != expected.tokens_hash)
    return "a ticket for other tokens";
  if (t.expires_ms < t.issued_ms || t.expires_ms - t.issued_ms > kMaxInferenceTicketLifetimeMs)
    return "a ticket with an impossible lifetime";
  if (!within_lifetime(expected.now_ms, t.issued_ms, t.expires_ms)) return "an expired ticket";
  const auto tag = tag_of(t.canonical_bytes(), *expected.key);
  if (sodium_memcmp(tag.data(), authenticated.tags[k].data(), tag.size()) != 0) return "a ticket the hub did not issue";
  return std::nullopt;
}

}  // namespace tessera::protocol

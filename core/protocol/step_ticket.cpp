// Step tickets: the byte layout and the driver's signature.
#include "core/protocol/step_ticket.h"

#include <stdexcept>

#include "core/protocol/byte_fields.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::uint8_t kTag[] = {'T', 'S', 'S', 'T'};
constexpr std::uint8_t kVersion = 1;
// The largest encoding: every stage with every replica, as hex.
constexpr std::size_t kMaxHex =
    2 * (4 + 1 + 8 + 8 + 4 + 4 + 32 + 65 + 1 + kMaxTicketStages * (1 + (32 + 1 + kMaxEndpoint) * kMaxTicketReplicas) + 64);

}  // namespace

std::vector<std::uint8_t> StepTicket::canonical_bytes() const {
  if (run_id.empty() || run_id.size() > 64) throw std::invalid_argument("a step ticket's run id has 1 to 64 characters");
  if (replicas.empty() || replicas.size() > kMaxTicketStages)
    throw std::invalid_argument("a step ticket names 1 to 64 stages");
  ByteWriter out;
  out.put_bytes(kTag);
  out.put<std::uint8_t>(kVersion);
  out.put<std::uint64_t>(step);
  out.put<std::uint64_t>(attempt);
  out.put<std::uint32_t>(micro_batches);
  out.put<std::uint32_t>(queue);
  out.put_bytes(driver);
  out.put_run(run_id);
  out.put<std::uint8_t>(static_cast<std::uint8_t>(replicas.size()));
  for (const auto& stage : replicas) {
    if (stage.empty() || stage.size() > kMaxTicketReplicas)
      throw std::invalid_argument("a step ticket names 1 to 255 replicas per stage");
    out.put<std::uint8_t>(static_cast<std::uint8_t>(stage.size()));
    for (const auto& hop : stage) {
      if (hop.endpoint.empty() || hop.endpoint.size() > kMaxEndpoint)
        throw std::invalid_argument("a step ticket's endpoints have 1 to 200 characters");
      out.put_bytes(hop.key);
      out.put_text(hop.endpoint);
    }
  }
  return out.take();
}

std::vector<std::uint8_t> SignedStepTicket::encode() const {
  auto bytes = ticket.canonical_bytes();
  bytes.insert(bytes.end(), signature.begin(), signature.end());
  return bytes;
}

std::string SignedStepTicket::to_hex() const { return wallet::to_hex(encode()); }

std::optional<SignedStepTicket> SignedStepTicket::decode(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes);
  if (!in.expect(kTag) || in.get<std::uint8_t>() != kVersion) return std::nullopt;
  SignedStepTicket out;
  auto& t = out.ticket;
  t.step = in.get<std::uint64_t>();
  t.attempt = in.get<std::uint64_t>();
  t.micro_batches = in.get<std::uint32_t>();
  t.queue = in.get<std::uint32_t>();
  t.driver = in.get_fixed<32>();
  t.run_id = in.get_run();
  const auto stages = in.get<std::uint8_t>();
  if (stages == 0 || stages > kMaxTicketStages) return std::nullopt;
  for (std::size_t k = 0; k < stages && in.ok(); ++k) {
    const auto count = in.get<std::uint8_t>();
    if (count == 0 || in.remaining() < 34ull * count) return std::nullopt;
    auto& hops = t.replicas.emplace_back();
    for (std::size_t i = 0; i < count && in.ok(); ++i) {
      auto key = in.get_fixed<32>();
      hops.push_back({key, in.get_text(kMaxEndpoint)});
    }
  }
  out.signature = in.get_fixed<64>();
  if (!in.done()) return std::nullopt;
  return out;
}

std::optional<SignedStepTicket> SignedStepTicket::from_hex(std::string_view text) {
  if (text.size() > kMaxHex) return std::nullopt;
  const auto bytes = wallet::from_hex(text);
  return bytes ? decode(*bytes) : std::nullopt;
}

bool SignedStepTicket::verify() const {
  try {
    return wallet::verify(wallet::SignatureDomain::StepTicket, ticket.canonical_bytes(), signature, ticket.driver);
  } catch (const std::invalid_argument&) {
    return false;
  }
}

SignedStepTicket sign_step_ticket(const StepTicket& ticket, const wallet::KeyPair& driver_key) {
  if (ticket.driver != driver_key.public_key()) throw std::invalid_argument("a step ticket is signed by its driver");
  return {ticket, driver_key.sign(wallet::SignatureDomain::StepTicket, ticket.canonical_bytes())};
}

}  // namespace tessera::protocol

// Route seeds: the byte layout, the hub's signature and the seeded replica order.
#include "core/protocol/route_seed.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/protocol/byte_fields.h"
#include "core/protocol/little_endian.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::uint8_t kTag[] = {'T', 'S', 'R', 'S'};
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxHex = 2 * (4 + 1 + 8 + 32 + 65 + 64);

std::uint64_t integer_weight(double weight) {
  if (!std::isfinite(weight) || weight < 1.0) return 1;
  return static_cast<std::uint64_t>(std::llround(std::min(weight, 1e9)));
}

std::uint64_t draw(const std::array<std::uint8_t, 32>& seed, std::uint16_t stage, std::uint32_t position) {
  std::uint8_t in[32 + 2 + 4];
  std::copy(seed.begin(), seed.end(), in);
  put_le<std::uint16_t>(in + 32, stage);
  put_le<std::uint32_t>(in + 34, position);
  std::uint8_t out[8];
  crypto_generichash(out, sizeof out, in, sizeof in, nullptr, 0);
  return get_le<std::uint64_t>(out);
}

}  // namespace

std::vector<std::uint8_t> RouteSeed::canonical_bytes() const {
  if (run_id.empty() || run_id.size() > 64) throw std::invalid_argument("a route seed's run id has 1 to 64 characters");
  ByteWriter out;
  out.reserve(4 + 1 + 8 + 32 + 1 + run_id.size());
  out.put_bytes(kTag);
  out.put<std::uint8_t>(kVersion);
  out.put<std::uint64_t>(step);
  out.put_bytes(seed);
  out.put_run(run_id);
  return out.take();
}

std::vector<std::uint8_t> SignedRouteSeed::encode() const {
  auto bytes = seed.canonical_bytes();
  bytes.insert(bytes.end(), signature.begin(), signature.end());
  return bytes;
}

std::string SignedRouteSeed::to_hex() const { return wallet::to_hex(encode()); }

std::optional<SignedRouteSeed> SignedRouteSeed::decode(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes);
  if (!in.expect(kTag) || in.get<std::uint8_t>() != kVersion) return std::nullopt;
  SignedRouteSeed out;
  out.seed.step = in.get<std::uint64_t>();
  out.seed.seed = in.get_fixed<32>();
  out.seed.run_id = in.get_run();
  out.signature = in.get_fixed<64>();
  if (!in.done()) return std::nullopt;
  return out;
}

std::optional<SignedRouteSeed> SignedRouteSeed::from_hex(std::string_view text) {
  if (text.size() > kMaxHex) return std::nullopt;
  const auto bytes = wallet::from_hex(text);
  return bytes ? decode(*bytes) : std::nullopt;
}

bool SignedRouteSeed::verify(const wallet::PublicKey& hub_key) const {
  try {
    return wallet::verify(wallet::SignatureDomain::RouteSeed, seed.canonical_bytes(), signature, hub_key);
  } catch (const std::invalid_argument&) {
    return false;
  }
}

SignedRouteSeed sign_route_seed(const RouteSeed& seed, const wallet::KeyPair& hub_key) {
  return {seed, hub_key.sign(wallet::SignatureDomain::RouteSeed, seed.canonical_bytes())};
}

std::vector<wallet::PublicKey> order_replicas(const std::array<std::uint8_t, 32>& seed, std::uint16_t stage,
                                              const std::vector<WeightedReplica>& replicas) {
  std::vector<std::pair<wallet::PublicKey, std::uint64_t>> left;
  for (const auto& replica : replicas) left.emplace_back(replica.key, integer_weight(replica.weight));
  std::sort(left.begin(), left.end());
  std::vector<wallet::PublicKey> order;
  for (std::uint32_t position = 0; !left.empty(); ++position) {
    std::uint64_t total = 0;  // at most 255 × 10^9: no overflow
    for (const auto& entry : left) total += entry.second;
    std::uint64_t r = draw(seed, stage, position) % total;
    auto chosen = left.begin();
    while (r >= chosen->second) r -= (chosen++)->second;
    order.push_back(chosen->first);
    left.erase(chosen);
  }
  return order;
}

}  // namespace tessera::protocol

// Step records: the byte layout and the driver's signature.
#include "core/protocol/step_record.h"

#include <stdexcept>

#include "core/protocol/byte_fields.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::uint8_t kTag[] = {'T', 'S', 'S', 'R'};
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxBytes = 4 + 1 + 8 + 8 + 4 + 4 + 32 + 32 + 65 + 1 +
                                  2 * kMaxRecordStages * (1 + 32 * kMaxRecordReplicas) + 32 * kMaxRecordMicroBatches + 64;

void put_stages(ByteWriter& out, const std::vector<std::vector<wallet::PublicKey>>& stages, bool non_empty) {
  for (const auto& keys : stages) {
    if ((non_empty && keys.empty()) || keys.size() > kMaxRecordReplicas)
      throw std::invalid_argument("a step record names 1 to 255 replicas per stage");
    out.put<std::uint8_t>(static_cast<std::uint8_t>(keys.size()));
    for (const auto& key : keys) out.put_bytes(key);
  }
}

bool get_stages(ByteReader& in, std::size_t count, bool non_empty, std::vector<std::vector<wallet::PublicKey>>& stages) {
  for (std::size_t k = 0; k < count && in.ok(); ++k) {
    const auto n = in.get<std::uint8_t>();
    if ((non_empty && n == 0) || in.remaining() < 32ull * n) return false;
    auto& keys = stages.emplace_back();
    for (std::size_t i = 0; i < n; ++i) keys.push_back(in.get_fixed<32>());
  }
  return in.ok();
}

}  // namespace

std::vector<std::uint8_t> StepRecord::canonical_bytes() const {
  if (run_id.empty() || run_id.size() > 64) throw std::invalid_argument("a step record's run id has 1 to 64 characters");
  if (replicas.empty() || replicas.size() > kMaxRecordStages) throw std::invalid_argument("a step record names 1 to 64 stages");
  if (committers.size() != replicas.size()) throw std::invalid_argument("a step record names committers for every stage");
  if (micro_batches == 0 || micro_batches > kMaxRecordMicroBatches || tokens_hashes.size() != micro_batches)
    throw std::invalid_argument("a step record has 1 to 4096 micro-batches, each with its token digest");
  ByteWriter out;
  out.put_bytes(kTag);
  out.put<std::uint8_t>(kVersion);
  out.put<std::uint64_t>(step);
  out.put<std::uint64_t>(attempt);
  out.put<std::uint32_t>(micro_batches);
  out.put<std::uint32_t>(tokens_per_micro_batch);
  out.put_bytes(driver);
  out.put_bytes(route_seed);
  out.put_run(run_id);
  out.put<std::uint8_t>(static_cast<std::uint8_t>(replicas.size()));
  put_stages(out, replicas, true);
  put_stages(out, committers, false);
  for (const auto& digest : tokens_hashes) out.put_bytes(digest);
  return out.take();
}

std::vector<std::uint8_t> SignedStepRecord::encode() const {
  auto bytes = record.canonical_bytes();
  bytes.insert(bytes.end(), signature.begin(), signature.end());
  return bytes;
}

std::string SignedStepRecord::to_hex() const { return wallet::to_hex(encode()); }

std::optional<SignedStepRecord> SignedStepRecord::decode(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes);
  if (!in.expect(kTag) || in.get<std::uint8_t>() != kVersion) return std::nullopt;
  SignedStepRecord out;
  auto& r = out.record;
  r.step = in.get<std::uint64_t>();
  r.attempt = in.get<std::uint64_t>();
  r.micro_batches = in.get<std::uint32_t>();
  r.tokens_per_micro_batch = in.get<std::uint32_t>();
  r.driver = in.get_fixed<32>();
  r.route_seed = in.get_fixed<32>();
  r.run_id = in.get_run();
  const auto stages = in.get<std::uint8_t>();
  if (stages == 0 || stages > kMaxRecordStages) return std::nullopt;
  if (!get_stages(in, stages, true, r.replicas) || !get_stages(in, stages, false, r.committers)) return std::nullopt;
  if (r.micro_batches == 0 || r.micro_batches > kMaxRecordMicroBatches || in.remaining() < 32ull * r.micro_batches)
    return std::nullopt;
  for (std::uint32_t m = 0; m < r.micro_batches; ++m) r.tokens_hashes.push_back(in.get_fixed<32>());
  out.signature = in.get_fixed<64>();
  if (!in.done()) return std::nullopt;
  return out;
}

std::optional<SignedStepRecord> SignedStepRecord::from_hex(std::string_view text) {
  if (text.size() > 2 * kMaxBytes) return std::nullopt;
  const auto bytes = wallet::from_hex(text);
  return bytes ? decode(*bytes) : std::nullopt;
}

bool SignedStepRecord::verify() const {
  try {
    return wallet::verify(wallet::SignatureDomain::StepRecord, record.canonical_bytes(), signature, record.driver);
  } catch (const std::invalid_argument&) {
    return false;
  }
}

SignedStepRecord sign_step_record(const StepRecord& record, const wallet::KeyPair& driver_key) {
  if (record.driver != driver_key.public_key()) throw std::invalid_argument("a step record is signed by its driver");
  return {record, driver_key.sign(wallet::SignatureDomain::StepRecord, record.canonical_bytes())};
}

}  // namespace tessera::protocol

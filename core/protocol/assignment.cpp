// Stage assignments: the byte layout, the hub's signature and the one check.
#include "core/protocol/assignment.h"

#include <stdexcept>

#include "core/protocol/byte_fields.h"
#include "core/protocol/unix_time.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::uint8_t kTag[] = {'T', 'S', 'A', 'S'};
constexpr std::uint8_t kVersion = 1;

}  // namespace

std::vector<std::uint8_t> StageAssignment::canonical_bytes() const {
  if (run_id.empty() || run_id.size() > 64) throw std::invalid_argument("an assignment's run id has 1 to 64 characters");
  ByteWriter out;
  out.put_bytes(kTag);
  out.put<std::uint8_t>(kVersion);
  out.put<std::uint16_t>(stage);
  out.put<std::int64_t>(issued_ms);
  out.put<std::int64_t>(expires_ms);
  out.put_bytes(node_key);
  out.put_run(run_id);
  return out.take();
}

std::vector<std::uint8_t> SignedStageAssignment::encode() const {
  auto bytes = assignment.canonical_bytes();
  bytes.insert(bytes.end(), signature.begin(), signature.end());
  return bytes;
}

std::string SignedStageAssignment::to_hex() const { return wallet::to_hex(encode()); }

std::optional<SignedStageAssignment> SignedStageAssignment::decode(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes);
  if (!in.expect(kTag) || in.get<std::uint8_t>() != kVersion) return std::nullopt;
  SignedStageAssignment out;
  auto& a = out.assignment;
  a.stage = in.get<std::uint16_t>();
  a.issued_ms = in.get<std::int64_t>();
  a.expires_ms = in.get<std::int64_t>();
  a.node_key = in.get_fixed<32>();
  a.run_id = in.get_run();
  out.signature = in.get_fixed<64>();
  if (!in.done()) return std::nullopt;
  return out;
}

std::optional<SignedStageAssignment> SignedStageAssignment::from_hex(std::string_view text) {
  if (text.size() > 512) return std::nullopt;
  const auto bytes = wallet::from_hex(text);
  return bytes ? decode(*bytes) : std::nullopt;
}

SignedStageAssignment sign_assignment(const StageAssignment& assignment, const wallet::KeyPair& hub_key) {
  return {assignment, hub_key.sign(wallet::SignatureDomain::Assignment, assignment.canonical_bytes())};
}

std::optional<std::string> check_assignment(const SignedStageAssignment& signed_assignment,
                                            const AssignmentExpectation& expected) {
  const auto& a = signed_assignment.assignment;
  if (a.run_id != expected.run_id) return "an assignment for another run";
  if (a.node_key != expected.node_key) return "an assignment for another node";
  if (a.stage != expected.stage) return "an assignment to stage " + std::to_string(a.stage);
  if (a.expires_ms < a.issued_ms || a.expires_ms - a.issued_ms > kAssignmentLifetimeMs * 4)
    return "an assignment with an impossible lifetime";
  if (!within_lifetime(expected.now_ms, a.issued_ms, a.expires_ms)) return "an expired assignment";
  if (!wallet::verify(wallet::SignatureDomain::Assignment, a.canonical_bytes(), signed_assignment.signature,
                      expected.hub_key))
    return "an assignment the hub did not sign";
  return std::nullopt;
}

}  // namespace tessera::protocol

// Spot-check tickets (byte layout, the hub's signature, the one check) and checker reports (JSON).
#include "core/protocol/spot_check.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/protocol/byte_fields.h"
#include "core/protocol/unix_time.h"
#include "core/sys/json_number.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::uint8_t kTag[] = {'T', 'S', 'C', 'K'};
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxHex = 2 * (4 + 1 + 8 + 8 + 4 + 4 + 2 + 8 + 8 + 4 * 32 + 1 + 2 * 32 + 65 + 64);
constexpr std::size_t kMaxReason = 500;

void put_optional(ByteWriter& out, const std::optional<PayloadDigest>& digest) {
  if (digest) out.put_bytes(*digest);
}

std::optional<PayloadDigest> hex_digest(const nlohmann::json& json, const char* name) {
  const auto found = json.find(name);
  if (found == json.end() || found->is_null()) return std::nullopt;
  std::optional<PayloadDigest> digest;
  if (found->is_string()) digest = wallet::fixed_from_hex<32>(found->get<std::string>());
  if (!digest) throw std::invalid_argument(std::string("check report: ") + name + " is not 32 bytes of hex");
  return digest;
}

}  // namespace

std::vector<std::uint8_t> CheckTicket::canonical_bytes() const {
  if (run_id.empty() || run_id.size() > 64) throw std::invalid_argument("a check ticket's run id has 1 to 64 characters");
  ByteWriter out;
  out.put_bytes(kTag);
  out.put<std::uint8_t>(kVersion);
  out.put<std::uint64_t>(check_id);
  out.put<std::uint64_t>(step);
  out.put<std::uint32_t>(micro_batch);
  out.put<std::uint32_t>(micro_batches);
  out.put<std::uint16_t>(stage);
  out.put<std::int64_t>(issued_ms);
  out.put<std::int64_t>(expires_ms);
  out.put_bytes(worker);
  out.put_bytes(checker);
  out.put_bytes(weights);
  out.put_bytes(tokens);
  out.put<std::uint8_t>(static_cast<std::uint8_t>((forward_in ? 1 : 0) | (backward_in ? 2 : 0)));
  put_optional(out, forward_in);
  put_optional(out, backward_in);
  out.put_run(run_id);
  return out.take();
}

std::vector<std::uint8_t> SignedCheckTicket::encode() const {
  auto bytes = ticket.canonical_bytes();
  bytes.insert(bytes.end(), signature.begin(), signature.end());
  return bytes;
}

std::string SignedCheckTicket::to_hex() const { return wallet::to_hex(encode()); }

std::optional<SignedCheckTicket> SignedCheckTicket::decode(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes);
  if (!in.expect(kTag) || in.get<std::uint8_t>() != kVersion) return std::nullopt;
  SignedCheckTicket out;
  auto& t = out.ticket;
  t.check_id = in.get<std::uint64_t>();
  t.step = in.get<std::uint64_t>();
  t.micro_batch = in.get<std::uint32_t>();
  t.micro_batches = in.get<std::uint32_t>();
  t.stage = in.get<std::uint16_t>();
  t.issued_ms = in.get<std::int64_t>();
  t.expires_ms = in.get<std::int64_t>();
  t.worker = in.get_fixed<32>();
  t.checker = in.get_fixed<32>();
  t.weights = in.get_fixed<32>();
  t.tokens = in.get_fixed<32>();
  const auto present = in.get<std::uint8_t>();
  if (present > 3) return std::nullopt;
  if (present & 1) t.forward_in = in.get_fixed<32>();
  if (present & 2) t.backward_in = in.get_fixed<32>();
  t.run_id = in.get_run();
  out.signature = in.get_fixed<64>();
  if (!in.done()) return std::nullopt;
  return out;
}

std::optional<SignedCheckTicket> SignedCheckTicket::from_hex(std::string_view text) {
  if (text.size() > kMaxHex) return std::nullopt;
  const auto bytes = wallet::from_hex(text);
  return bytes ? decode(*bytes) : std::nullopt;
}

SignedCheckTicket sign_check_ticket(const CheckTicket& ticket, const wallet::KeyPair& hub_key) {
  return {ticket, hub_key.sign(wallet::SignatureDomain::CheckTicket, ticket.canonical_bytes())};
}

std::optional<std::string> check_check_ticket(const SignedCheckTicket& signed_ticket, const CheckExpectation& expected) {
  const auto& t = signed_ticket.ticket;
  if (t.run_id != expected.run_id) return "a check ticket for another run";
  if (expected.worker && t.worker != *expected.worker) return "a check ticket for another worker";
  if (expected.checker && t.checker != *expected.checker) return "a check ticket for another checker";
  if (t.worker == t.checker) return "a check ticket naming the worker as its own checker";
  if (t.micro_batches == 0 || t.micro_batch >= t.micro_batches) return "a check ticket for a micro-batch the step lacks";
  if (t.expires_ms < t.issued_ms || t.expires_ms - t.issued_ms > kCheckLifetimeMs * 2)
    return "a check ticket with an impossible lifetime";
  if (!within_lifetime(expected.now_ms, t.issued_ms, t.expires_ms)) return "an expired check ticket";
  try {
    if (!wallet::verify(wallet::SignatureDomain::CheckTicket, t.canonical_bytes(), signed_ticket.signature,
                        expected.hub_key))
      return "a check ticket the hub did not sign";
  } catch (const std::invalid_argument& bad) {
    return std::string("a malformed check ticket: ") + bad.what();
  }
  return std::nullopt;
}

nlohmann::json to_json(const CheckReport& report) {
  nlohmann::json json{{"check", report.check_id}, {"reason", report.reason}};
  switch (report.status) {
    case CheckStatus::Computed: json["status"] = "computed"; break;
    case CheckStatus::EvidenceMismatch: json["status"] = "evidence_mismatch"; break;
    case CheckStatus::Unavailable: json["status"] = "unavailable"; break;
  }
  if (report.forward_out) json["forward_out"] = wallet::to_hex(*report.forward_out);
  if (report.backward_out) json["backward_out"] = wallet::to_hex(*report.backward_out);
  return json;
}

CheckReport check_report_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::invalid_argument("check report: not an object");
  CheckReport report;
  const auto check = json.find("check");
  if (check == json.end()) throw std::invalid_argument("check report: missing check");
  report.check_id = sys::json_integer<std::uint64_t>(*check, "check report: check");
  const auto status = json.find("status");
  if (status == json.end() || !status->is_string()) throw std::invalid_argument("check report: missing status");
  const auto& name = status->get_ref<const std::string&>();
  if (name == "computed") report.status = CheckStatus::Computed;
  else if (name == "evidence_mismatch") report.status = CheckStatus::EvidenceMismatch;
  else if (name == "unavailable") report.status = CheckStatus::Unavailable;
  else throw std::invalid_argument("check report: status is computed, evidence_mismatch or unavailable");
  report.forward_out = hex_digest(json, "forward_out");
  report.backward_out = hex_digest(json, "backward_out");
  if (const auto reason = json.find("reason"); reason != json.end()) {
    if (!reason->is_string()) throw std::invalid_argument("check report: reason is text");
    report.reason = reason->get<std::string>();
    if (report.reason.size() > kMaxReason) {
      std::size_t cut = kMaxReason;  // not inside a UTF-8 sequence
      while (cut > 0 && (static_cast<unsigned char>(report.reason[cut]) & 0xC0) == 0x80) --cut;
      report.reason.resize(cut);
    }
  }
  return report;
}

}  // namespace tessera::protocol

// Spot checks: a sampled slot (step, micro-batch, stage) of committed work is recomputed by a node
// the hub picks (the *checker*: any live member but the worker, preferably of another owner; it
// builds a scratch copy of that one stage only) and compared with what the worker's neighbours
// signed for. The hub draws the sample with its own randomness after the step's record and
// receipts are in, so no node can tell in advance which work will be checked.
//
// The flow (docs/verification.md):
//   1. The hub hands the checker a CheckTicket (key "checks" in its heartbeat reply, hex).
//   2. The checker asks the worker for its evidence (swarm message CheckFetch, carrying the
//      ticket): the worker's parameters at the start of the step and what it received for the
//      slot (the Forward's activations and token ids; the Backward's gradient). A node keeps its
//      evidence for its last committed steps (core/node/swarm/evidence_store.h).
//   3. The checker checks the evidence against the ticket (weights digest the worker reported for
//      that step, input digests the worker signed as receiver, the step record's token digest),
//      recomputes the stage's forward and backward on a scratch engine::Stage, and reports the
//      digests it computed (POST /api/checks, CheckReport): it never sees the expected outputs.
//   4. The hub compares them with the digests in the worker's receipts (signed by its
//      neighbours). A mismatch or withheld evidence is confirmed by a second checker before the
//      worker is excluded; a checker the second check contradicts is excluded instead.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/protocol/payload_digest.h"
#include "core/wallet/signing.h"

namespace tessera::protocol {

inline constexpr std::int64_t kCheckLifetimeMs = 120'000;

struct CheckTicket {
  std::string run_id;
  std::uint64_t check_id = 0;
  std::uint64_t step = 0;
  std::uint32_t micro_batch = 0;
  std::uint32_t micro_batches = 0;             // the step's, for the data source
  std::uint16_t stage = 0;
  wallet::PublicKey worker{};                  // whose work is checked
  wallet::PublicKey checker{};                 // who checks it
  PayloadDigest weights{};                     // the worker's weights digest for the start of `step`
  PayloadDigest tokens{};                      // the step record's digest of the micro-batch's token ids
  std::optional<PayloadDigest> forward_in;     // what the worker signed for receiving (not on stage 0)
  std::optional<PayloadDigest> backward_in;    // the gradient it signed for (not on the last stage)
  std::int64_t issued_ms = 0;
  std::int64_t expires_ms = 0;

  // "TSCK" | version u8 | check u64 | step u64 | micro-batch u32 | micro-batches u32 | stage u16
  // | issued i64 | expires i64 | worker[32] | checker[32] | weights[32] | tokens[32]
  // | present u8 (bit 0 forward_in, bit 1 backward_in) | the present digests | run (u8 length ‖ bytes)
  std::vector<std::uint8_t> canonical_bytes() const;
  bool operator==(const CheckTicket&) const = default;
};

struct SignedCheckTicket {
  CheckTicket ticket;
  wallet::Signature signature{};

  std::vector<std::uint8_t> encode() const;
  std::string to_hex() const;
  static std::optional<SignedCheckTicket> decode(std::span<const std::uint8_t> bytes);
  static std::optional<SignedCheckTicket> from_hex(std::string_view text);
};

SignedCheckTicket sign_check_ticket(const CheckTicket& ticket, const wallet::KeyPair& hub_key);

// What the worker expects of a ticket a checker presents (and the checker of one it is handed).
struct CheckExpectation {
  std::string run_id;
  wallet::PublicKey hub_key{};
  std::optional<wallet::PublicKey> worker;   // the worker: itself
  std::optional<wallet::PublicKey> checker;  // the requester, as its connection authenticated it
  std::int64_t now_ms = 0;
};

// Nothing when the ticket is the hub's, for this run and these parties, and current; else why not.
std::optional<std::string> check_check_ticket(const SignedCheckTicket& ticket, const CheckExpectation& expected);

// The checker's answer, POST /api/checks (a signed hub request from the checker).
enum class CheckStatus : std::uint8_t {
  Computed = 1,          // the evidence matched the ticket; the digests below are what it computed
  EvidenceMismatch = 2,  // the worker's evidence does not match the ticket (weights, inputs, tokens)
  Unavailable = 3,       // the worker did not answer or said it no longer holds the evidence
};

struct CheckReport {
  std::uint64_t check_id = 0;
  CheckStatus status = CheckStatus::Computed;
  std::optional<PayloadDigest> forward_out;   // the recomputed output (not on the last stage)
  std::optional<PayloadDigest> backward_out;  // the recomputed input gradient (not on stage 0)
  std::string reason;                         // for the log; at most 500 bytes
};

nlohmann::json to_json(const CheckReport& report);
// Throws std::invalid_argument naming the bad field.
CheckReport check_report_from_json(const nlohmann::json& json);

}  // namespace tessera::protocol

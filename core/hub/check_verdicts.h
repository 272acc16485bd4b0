// Deciding spot checks (docs/verification.md, "On the hub"). A report from the ticket's checker,
// once, before the ticket expires: digests equal to what the worker's neighbours signed for pass;
// different digests, evidence that does not match the ticket, or evidence withheld are a
// suspected failure, which a second checker (another one) repeats. Two failures: the worker
// fails. The second passing: the first checker's report was false, and it fails instead. With no
// second report within the lifetime, a lone failure stands only when it was a digest mismatch
// computed by a checker of another owner than the worker's; otherwise it is dropped. A checker
// is credited its recompute when it computed (not for withheld or mismatched evidence) and the
// second check did not contradict it.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/hub/check_book.h"
#include "core/hub/hub_store.h"
#include "core/protocol/spot_check.h"

namespace tessera::hub {

class CheckIssuer;
class CheckPenalties;

class CheckVerdicts {
 public:
  // Everything must outlive this.
  CheckVerdicts(const CheckIssuer& issuer, CheckPenalties& penalties) : issuer_(issuer), penalties_(penalties) {}

  // POST /api/checks from `checker`: {"check", "verdict": "passed" | "suspected" | "failed"}.
  // Throws net::HttpError: 404 an unknown check, 403 not this checker's or expired, 409 already
  // reported.
  nlohmann::json report(HubStore::Transaction& transaction, const wallet::PublicKey& checker,
                        const protocol::CheckReport& report, std::int64_t now_ms);
  // A second check that can no longer be reported (never issued or expired): decides its first.
  void second_missing(HubStore::Transaction& transaction, const CheckRow& second, std::int64_t now_ms);

 private:
  void passed(HubStore::Transaction& transaction, const CheckRow& row, int status);
  void suspected(HubStore::Transaction& transaction, const CheckRow& row, int status, const std::string& reason,
                 std::int64_t now_ms);
  void confirmed(HubStore::Transaction& transaction, const CheckRow& row, int status, const std::string& reason);

  const CheckIssuer& issuer_;
  CheckPenalties& penalties_;
};

// Why the report says the worker's work is wrong; empty when it passes.
std::string check_failure(const CheckRow& row, const protocol::CheckReport& report);

}  // namespace tessera::hub

// Reports in, verdicts out.
#include "core/hub/check_verdicts.h"

#include "core/hub/check_issuer.h"
#include "core/hub/check_penalties.h"
#include "core/hub/step_book.h"
#include "core/net/http_json.h"

namespace tessera::hub {
namespace {

constexpr int kComputed = static_cast<int>(protocol::CheckStatus::Computed);
// A node keeps a step's evidence at least 20 s after it committed (core/node/swarm/evidence_store.h):
// evidence not handed over within 15 s of the commit was withheld; later, it may have been let go.
constexpr std::int64_t kEvidenceHeldMs = 15'000;

std::string slot_text(const CheckRow& row) {
  return "step " + std::to_string(row.step) + ", micro-batch " + std::to_string(row.micro_batch) + ", stage " +
         std::to_string(row.stage);
}

bool differs(const std::optional<protocol::PayloadDigest>& expected, const std::optional<protocol::PayloadDigest>& got) {
  return expected && (!got || *got != *expected);
}

}  // namespace

std::string check_failure(const CheckRow& row, const protocol::CheckReport& report) {
  switch (report.status) {
    case protocol::CheckStatus::Computed:
      if (differs(row.forward_out, report.forward_out)) return "its output differs from the recomputed one";
      if (differs(row.backward_out, report.backward_out)) return "its input gradient differs from the recomputed one";
      return {};
    case protocol::CheckStatus::EvidenceMismatch:
      return "its evidence does not match what it reported and signed for";
    case protocol::CheckStatus::Unavailable:
      return "it did not hand over its evidence";
  }
  return "the check's report is not understood";
}

nlohmann::json CheckVerdicts::report(HubStore::Transaction& transaction, const wallet::PublicKey& checker,
                                     const protocol::CheckReport& report, std::int64_t now_ms) {
  const auto row = check_book::find(transaction.db(), report.check_id);
  if (!row) throw net::HttpError(404, "unknown check " + std::to_string(report.check_id));
  if (!row->checker || *row->checker != checker)
    throw net::HttpError(403, "check " + std::to_string(row->id) + " was not issued to this node");
  if (row->state != "issued") throw net::HttpError(409, "check " + std::to_string(row->id) + " was already decided");
  if (now_ms >= row->expires_ms.value_or(0))
    throw net::HttpError(403, "check " + std::to_string(row->id) + " expired before its report came");
  const auto failure = check_failure(*row, report);
  const int status = static_cast<int>(report.status);
  nlohmann::json answer{{"check", row->id}};
  const auto committed = step_book::committed_ms(transaction.db(), row->step);
  if (report.status == protocol::CheckStatus::Unavailable && committed && now_ms - *committed > kEvidenceHeldMs) {
    check_book::set_report(transaction.db(), row->id, status, "dropped", "the evidence was asked for after its window");
    check_book::count(transaction.db(), "dropped");
    if (row->round == 2) second_missing(transaction, *row, now_ms);
    answer["verdict"] = "dropped";
  } else if (failure.empty()) {
    passed(transaction, *row, status);
    answer["verdict"] = "passed";
  } else if (row->round == 1) {
    suspected(transaction, *row, status, failure, now_ms);
    answer["verdict"] = "suspected";
  } else {
    confirmed(transaction, *row, status, failure);
    answer["verdict"] = "failed";
  }
  return answer;
}

void CheckVerdicts::passed(HubStore::Transaction& transaction, const CheckRow& row, int status) {
  auto& db = transaction.db();
  check_book::set_report(db, row.id, status, "passed", "");
  check_book::count(db, "passed");
  penalties_.passed(transaction, row.worker);
  penalties_.credit_checker(transaction, row);
  if (!row.first_check) return;
  const auto first = check_book::find(db, *row.first_check);
  if (!first || !first->checker) return;
  check_book::set_state(db, first->id, "contradicted");
  check_book::count(db, "contradicted");
  penalties_.failed(transaction, *first->checker, "a checker's report the second check contradicted", row.step);
}

void CheckVerdicts::suspected(HubStore::Transaction& transaction, const CheckRow& row, int status,
                              const std::string& reason, std::int64_t now_ms) {
  auto& db = transaction.db();
  check_book::set_report(db, row.id, status, "suspect", reason);
  CheckRow second = row;
  second.state = "planned";
  second.round = 2;
  second.first_check = row.id;
  second.checker.reset();
  second.checker_owner.clear();
  second.ticket.clear();
  second.report.reset();
  second.reason.clear();
  second.issued_ms.reset();
  second.expires_ms.reset();
  second.created_ms = now_ms;
  second.id = check_book::insert(db, second);
  check_book::count(db, "planned");
  issuer_.issue(transaction, second, now_ms);  // or later, from the tick, when no checker is free now
}

void CheckVerdicts::confirmed(HubStore::Transaction& transaction, const CheckRow& row, int status,
                              const std::string& reason) {
  auto& db = transaction.db();
  check_book::set_report(db, row.id, status, "failed", reason);
  check_book::count(db, "failed");
  const auto first = check_book::find(db, *row.first_check);
  if (first) check_book::set_state(db, first->id, "failed");
  penalties_.failed(transaction, row.worker, "its work failed two spot checks (" + slot_text(row) + "): " + reason,
                    row.step);
  if (status == kComputed) penalties_.credit_checker(transaction, row);
  if (first && first->report == kComputed) penalties_.credit_checker(transaction, *first);
}

void CheckVerdicts::second_missing(HubStore::Transaction& transaction, const CheckRow& second, std::int64_t) {
  auto& db = transaction.db();
  if (!second.first_check) return;
  const auto first = check_book::find(db, *second.first_check);
  if (!first || first->state != "suspect") return;
  const auto worker_owner = CheckPenalties::owner_of(db, first->worker).value_or("");
  const bool computed = first->report == kComputed;
  if (computed && first->checker_owner != worker_owner) {
    check_book::set_state(db, first->id, "failed");
    check_book::count(db, "failed");
    penalties_.failed(transaction, first->worker,
                      "its work failed a spot check no second checker could repeat (" + slot_text(*first) +
                          "): " + first->reason,
                      first->step);
  } else {
    check_book::set_state(db, first->id, "dropped");
    check_book::count(db, "dropped");
  }
  if (computed) penalties_.credit_checker(transaction, *first);
}

}  // namespace tessera::hub

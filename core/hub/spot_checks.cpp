// Sampling, receipt digests, tickets, reports and the lifetime timer.
#include "core/hub/spot_checks.h"

#include <chrono>

#include "core/hub/check_book.h"
#include "core/hub/exclusions.h"
#include "core/hub/peer_directory.h"
#include "core/hub/run_roster.h"
#include "core/net/http_json.h"
#include "core/protocol/manifest.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

constexpr std::uint64_t kWeightsLead = 2;        // a step's weights come after the step before it committed
constexpr std::uint64_t kWeightsKept = 2'000;    // steps of weights digests (and decided checks) kept

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t latest_committed_step(HubStore& store) {
  return store.read([](Database& db) {
    auto query = db.prepare("SELECT IFNULL(MAX(step), 0) FROM steps");
    query.step();
    return from_sql(query.column_int(0));
  });
}

}  // namespace

SpotChecks::SpotChecks(const protocol::RunManifest& manifest, HubStore& store, SettlementBook& book, NodeTally& tally,
                       Exclusions& exclusions, PeerDirectory& directory, RunRoster& roster,
                       const wallet::KeyPair& hub_key, double rate)
    : manifest_(manifest),
      store_(store),
      directory_(directory),
      roster_(roster),
      exclusions_(exclusions),
      sampler_(rate),
      board_(store),
      penalties_(manifest, book, tally, exclusions, directory, roster),
      issuer_(manifest.run_id, hub_key, directory, exclusions, board_),
      verdicts_(issuer_, penalties_),
      last_step_(latest_committed_step(store)) {}

void SpotChecks::step_committed(HubStore::Transaction& transaction, const protocol::StepRecord& record) {
  if (record.step > last_step_.load()) last_step_ = record.step;
  if (record.step > kWeightsKept) {  // far past any check's lifetime
    WeightReports::forget_before(transaction, record.step - kWeightsKept);
    check_book::forget_decided_before(transaction.db(), record.step - kWeightsKept);
  }
  const auto now = now_ms();
  for (const auto& slot : sampler_.sample(record)) plan(transaction, record, slot, now);
}

void SpotChecks::plan(HubStore::Transaction& transaction, const protocol::StepRecord& record, const SampledSlot& slot,
                      std::int64_t now) {
  CheckRow row;
  row.step = record.step;
  row.micro_batch = slot.micro_batch;
  row.micro_batches = record.micro_batches;
  row.stage = slot.stage;
  row.tokens = record.tokens_per_micro_batch;
  row.worker = slot.worker;
  if (slot.micro_batch < record.tokens_hashes.size()) row.tokens_hash = record.tokens_hashes[slot.micro_batch];
  if (slot.stage > 0) row.neighbours.push_back(record.slot(slot.stage - 1, slot.micro_batch));
  if (slot.stage + 1u < record.replicas.size()) row.neighbours.push_back(record.slot(slot.stage + 1, slot.micro_batch));
  row.created_ms = now;
  row.id = check_book::insert(transaction.db(), row);
  check_book::count(transaction.db(), "planned");
  if (row.receipted(manifest_.stages)) issuer_.issue(transaction, row, now);  // a one-stage run needs no receipts
}

void SpotChecks::receipt_credited(HubStore::Transaction& transaction, const protocol::SignedReceipt& receipt, double) {
  const auto now = now_ms();
  for (const auto id : check_book::fill(transaction.db(), receipt.receipt)) {
    auto row = check_book::find(transaction.db(), id);
    if (row && row->receipted(manifest_.stages)) issuer_.issue(transaction, *row, now);
  }
}

void SpotChecks::report_weights(const std::vector<WeightsReport>& reports) {
  if (reports.empty()) return;
  const auto& first = reports.front();
  const auto peer = directory_.find(first.node);
  const auto stage = peer ? std::optional<int>(peer->stage) : roster_.stage_of(first.node);
  if (!stage || *stage != first.stage)
    throw net::HttpError(403, "weights refused: the sender does not serve stage " + std::to_string(first.stage));
  std::uint64_t latest = 0;
  for (const auto& report : reports) latest = std::max(latest, report.step);
  if (latest > last_step_.load() + kWeightsLead) {  // steps may have committed without this observer
    const auto stored = latest_committed_step(store_);
    if (stored > last_step_.load()) last_step_ = stored;
  }
  if (latest > last_step_.load() + kWeightsLead)
    throw std::invalid_argument("weights for step " + std::to_string(latest) + " are ahead of the run (step " +
                                std::to_string(last_step_.load()) + " committed last)");
  const auto replicas = directory_.replicas(first.stage).size();
  auto transaction = store_.begin();
  for (const auto& report : reports)
    for (const auto& minority : WeightReports::record(transaction, report, replicas))
      penalties_.failed(transaction, minority, "weights differ from its replicas", report.step);
  transaction.commit();
}

nlohmann::json SpotChecks::report_check(const wallet::PublicKey& checker, const protocol::CheckReport& report) {
  auto transaction = store_.begin();
  auto answer = verdicts_.report(transaction, checker, report, now_ms());
  transaction.commit();
  board_.take(report.check_id);
  return answer;
}

void SpotChecks::retire_planned(HubStore::Transaction& transaction, const CheckRow& row, std::int64_t now) {
  auto& db = transaction.db();
  const char* outcome = !row.receipted(manifest_.stages)                        ? "unreceipted"
                        : !WeightReports::digest_of(db, row.worker, row.step) ? "unweighted"
                                                                              : "unassigned";
  check_book::set_state(db, row.id, outcome);
  check_book::count(db, outcome);
  if (row.round == 2) verdicts_.second_missing(transaction, row, now);
}

void SpotChecks::tick(std::int64_t now) {
  auto transaction = store_.begin();
  auto& db = transaction.db();
  for (auto& row : check_book::planned_due(db, manifest_.stages, now - protocol::kCheckLifetimeMs + 1)) {
    if (now - row.created_ms >= protocol::kCheckLifetimeMs) retire_planned(transaction, row, now);
    else issuer_.issue(transaction, row, now);  // waited for a weights digest or a free checker
  }
  std::vector<std::uint64_t> expired;
  for (const auto& row : check_book::issued_expired(db, now)) {
    check_book::set_state(db, row.id, "expired");
    check_book::count(db, "expired");
    expired.push_back(row.id);
    if (row.round == 2) verdicts_.second_missing(transaction, row, now);
  }
  transaction.commit();
  for (const auto id : expired) board_.take(id);
}

std::vector<std::string> SpotChecks::tickets_for(const wallet::PublicKey& checker) const {
  return board_.for_checker(checker, now_ms());
}

std::optional<std::string> SpotChecks::refusal(const wallet::PublicKey& node, const std::string* owner) const {
  return exclusions_.refusal(node, owner);
}

void SpotChecks::add_to_heartbeat(nlohmann::json& reply, const wallet::PublicKey& node) const {
  auto tickets = tickets_for(node);
  if (!tickets.empty()) reply["checks"] = std::move(tickets);
}

nlohmann::json SpotChecks::summary() const {
  return store_.read([this](Database& db) {
    nlohmann::json out;
    for (const auto& [name, value] : check_book::counts(db)) out[name] = value;
    auto open = db.prepare("SELECT state, COUNT(*) FROM checks WHERE state IN ('planned', 'issued') GROUP BY state");
    out["waiting"] = 0;
    out["outstanding"] = 0;
    while (open.step()) out[open.column_text(0) == "planned" ? "waiting" : "outstanding"] = open.column_int(1);
    out["rate"] = sampler_.rate();
    out["lifetime_ms"] = protocol::kCheckLifetimeMs;
    return out;
  });
}

}  // namespace tessera::hub

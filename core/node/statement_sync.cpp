// Fetch, verify, record: epoch statements on the node.
#include "core/node/statement_sync.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/hub/settlement_book.h"
#include "core/ledger/ledger.h"
#include "core/protocol/statement.h"

namespace tessera::node {

namespace {

struct Fetched {
  int status = 0;  // 0: unreachable
  nlohmann::json body;
};

Fetched fetch(const std::string& hub_url, const std::string& path, std::chrono::milliseconds timeout) {
  httplib::Client client(hub_url);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  const auto result = client.Get(path);
  if (!result) return {};
  Fetched fetched{result->status, {}};
  fetched.body = nlohmann::json::parse(result->body, nullptr, false);
  return fetched;
}

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

}  // namespace

StatementSync::StatementSync(std::string hub_url, std::string run_id, const wallet::PublicKey& hub_key,
                             std::string owner, ledger::LedgerWriter& ledger, std::chrono::milliseconds timeout)
    : hub_url_(std::move(hub_url)),
      run_id_(std::move(run_id)),
      hub_key_(hub_key),
      owner_(std::move(owner)),
      ledger_(ledger),
      timeout_(timeout) {}

StatementCheck StatementSync::poll() {
  const auto latest = fetch(hub_url_, "/api/statements/latest", timeout_);
  if (latest.status == 0) return {StatementCheck::Outcome::Unreachable, 0, "the hub " + hub_url_ + " did not answer"};
  if (latest.status == 404) return {StatementCheck::Outcome::NothingNew, 0, "no epoch has been settled yet"};
  std::uint64_t newest = 0;
  try {
    newest = latest.body.at("epoch").get<std::uint64_t>();
  } catch (const std::exception&) {
    return {StatementCheck::Outcome::Rejected, 0, "the hub's latest statement is not readable"};
  }
  StatementCheck last{StatementCheck::Outcome::NothingNew, last_epoch_, "no new statement"};
  // Only the latest statement is guaranteed to be served; older ones are checked when available.
  for (auto epoch = std::max(last_epoch_ + 1, newest > 16 ? newest - 16 : 1); epoch <= newest; ++epoch) {
    last = check_epoch(epoch);
    if (last.outcome == StatementCheck::Outcome::Unreachable) break;
    last_epoch_ = epoch;
  }
  return last;
}

StatementCheck StatementSync::check_epoch(std::uint64_t epoch) {
  using Outcome = StatementCheck::Outcome;
  const auto number = std::to_string(epoch);
  const auto statement_reply = fetch(hub_url_, "/api/statements/" + number, timeout_);
  if (statement_reply.status == 0) return {Outcome::Unreachable, epoch, "the hub " + hub_url_ + " did not answer"};
  if (statement_reply.status == 404) return {Outcome::NothingNew, epoch, "epoch " + number + " is no longer served"};
  const auto proof_reply = fetch(hub_url_, "/api/statements/" + number + "/proof/" + owner_, timeout_);
  if (proof_reply.status == 0) return {Outcome::Unreachable, epoch, "the hub " + hub_url_ + " did not answer"};
  if (proof_reply.status == 404) return {Outcome::NotAnOwner, epoch, owner_ + " owns nothing yet in epoch " + number};

  const auto reject = [&](const std::string& why) {
    const std::string message = "statement for epoch " + number + " rejected: " + why;
    ledger::EventRecord event;
    event.kind = "statement_rejected";
    event.run = run_id_;
    event.message = message;
    event.details = nlohmann::json{{"epoch", epoch}, {"hub", hub_url_}}.dump();
    ledger_.append(event);
    return StatementCheck{Outcome::Rejected, epoch, message};
  };
  protocol::Statement statement;
  protocol::LeafProof proof;
  try {
    statement = protocol::statement_from_json(statement_reply.body);
    proof = protocol::leaf_proof_from_json(proof_reply.body);
  } catch (const std::exception& error) {
    return reject(std::string("unreadable (") + error.what() + ")");
  }
  // What the hub says accrued this epoch is recorded before the proof decides what is verified.
  if (proof_reply.body.contains("epoch_revenue_part") && proof_reply.body["epoch_revenue_part"].is_number_unsigned()) {
    ledger::RevenueRecord revenue;
    revenue.run = run_id_;
    revenue.epoch = static_cast<std::int64_t>(epoch);
    revenue.amount = proof_reply.body["epoch_revenue_part"].get<std::int64_t>();
    revenue.currency = proof_reply.body.value("currency", "");
    revenue.source = "inference";
    if (revenue.amount > 0) ledger_.append(revenue);
  }
  if (statement.run_id != run_id_) return reject("it is for run " + statement.run_id);
  if (statement.epoch != epoch) return reject("it is for epoch " + std::to_string(statement.epoch));
  if (!protocol::verify_statement(statement, hub_key_)) return reject("the hub signature does not verify");
  if (proof.leaf.owner != owner_) return reject("the proof is for another owner");
  if (!protocol::verify_leaf(statement, proof)) return reject("the Merkle proof does not lead to the signed root");

  ledger::StatementRecord record;
  record.run = run_id_;
  record.epoch = static_cast<std::int64_t>(epoch);
  record.owner = owner_;
  // The log keeps FLOPs (its dashboards' unit); a statement's unit is one verified MFLOP.
  record.units = static_cast<double>(proof.leaf.units) * hub::kFlopsPerUnit;
  record.run_units = static_cast<double>(statement.total_units) * hub::kFlopsPerUnit;
  record.cumulative_revenue = static_cast<std::int64_t>(proof.leaf.revenue);
  record.currency = proof_reply.body.value("currency", "");
  record.merkle_root.assign(statement.root.begin(), statement.root.end());
  record.proof = bytes_of(protocol::to_json(proof).dump());
  record.hub_signature.assign(statement.signature.begin(), statement.signature.end());
  record.verified = true;
  ledger_.append(record);
  return {Outcome::Verified, epoch,
          "epoch " + number + " verified: " + std::to_string(proof.leaf.units) + " of " +
              std::to_string(statement.total_units) + " units, revenue " + std::to_string(proof.leaf.revenue)};
}

}  // namespace tessera::node

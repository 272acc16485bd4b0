// Fetch and verify epoch statements for any owner; record the node's own (see statement_sync.h).
#include "core/client/statement_sync.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/client/hub_http.h"
#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/settlement.h"
#include "core/protocol/statement.h"
#include "core/sys/json_number.h"
#include "core/wallet/encoding.h"

namespace tessera::client {

namespace {

struct Fetched {
  int status = 0;  // 0: unreachable
  nlohmann::json body;
};

// Throws HubUntrusted (and std::runtime_error for a first contact that went wrong otherwise).
Fetched http_get(HubEndpoint& endpoint, const std::string& path, std::chrono::milliseconds timeout,
                 net::TrafficMeter* traffic) {
  try {
    if (!endpoint.trusted()) endpoint.establish(timeout, traffic);
  } catch (const HubUnreachable&) {
    return {};
  }
  const auto connection = endpoint.open(timeout, traffic);
  const auto result = connection->http().Get(endpoint.run_path(path));
  if (!result && !connection->refusal().empty()) throw HubUntrusted(connection->refusal());
  if (!result) return {};
  Fetched fetched{result->status, {}};
  fetched.body = nlohmann::json::parse(result->body, nullptr, false);
  return fetched;
}

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// The newest epoch already verified in the log (0: none), so a restarted node resumes after it.
std::uint64_t resume_after(const std::filesystem::path& log, const std::string& run, const std::string& owner) {
  try {
    const auto epoch = ledger::LedgerReader(log).last_verified_epoch(run, owner);
    return epoch && *epoch > 0 ? static_cast<std::uint64_t>(*epoch) : 0;
  } catch (const std::exception&) {
    return 0;  // checked again from the oldest epoch served; the log's unique keys record none twice
  }
}

}  // namespace

StatementFetcher::StatementFetcher(std::string hub_url, std::string run_id, const wallet::PublicKey& hub_key,
                                   std::chrono::milliseconds timeout, net::TrafficMeter* traffic)
    : StatementFetcher(std::make_shared<HubEndpoint>(hub_url), std::move(run_id), hub_key, timeout, traffic) {}

StatementFetcher::StatementFetcher(std::shared_ptr<HubEndpoint> endpoint, std::string run_id,
                                   const wallet::PublicKey& hub_key, std::chrono::milliseconds timeout,
                                   net::TrafficMeter* traffic)
    : endpoint_(std::move(endpoint)),
      hub_url_(endpoint_->url()),
      run_id_(std::move(run_id)),
      hub_key_(hub_key),
      timeout_(timeout),
      traffic_(traffic) {}

StatementCheck StatementFetcher::latest_epoch() const {
  using Outcome = StatementCheck::Outcome;
  Fetched latest;
  try {
    latest = http_get(*endpoint_, protocol::hub_api::kLatestStatement, timeout_, traffic_);
  } catch (const std::exception& error) {
    return {Outcome::Rejected, 0, error.what()};
  }
  if (latest.status == 0) return {Outcome::Unreachable, 0, "the hub " + hub_url_ + " did not answer"};
  if (latest.status == 404) return {Outcome::NothingNew, 0, "no epoch has been settled yet"};
  try {
    const auto epoch = sys::json_integer<std::uint64_t>(latest.body.at("epoch"), "'epoch'");  // not 1e300, -3 or 2.5
    return {Outcome::Verified, epoch, "epoch " + std::to_string(epoch) + " is the latest"};
  } catch (const std::exception&) {
    return {Outcome::Rejected, 0, "the hub's latest statement is not readable"};
  }
}

OwnerStatement StatementFetcher::fetch(std::uint64_t epoch, const std::string& owner) const {
  try {
    return fetch_checked(epoch, owner);
  } catch (const std::exception& error) {  // an untrusted hub, or a first contact that went wrong
    OwnerStatement out;
    out.check = {StatementCheck::Outcome::Rejected, epoch,
                 "statement for epoch " + std::to_string(epoch) + " rejected: " + error.what()};
    return out;
  }
}

OwnerStatement StatementFetcher::fetch_checked(std::uint64_t epoch, const std::string& owner) const {
  using Outcome = StatementCheck::Outcome;
  OwnerStatement out;
  out.check.epoch = epoch;
  const auto number = std::to_string(epoch);
  const auto result = [&](Outcome outcome, std::string message) {
    out.check.outcome = outcome;
    out.check.message = std::move(message);
    return out;
  };
  const auto statement_reply = http_get(*endpoint_, protocol::hub_api::statement_path(epoch), timeout_, traffic_);
  if (statement_reply.status == 0) return result(Outcome::Unreachable, "the hub " + hub_url_ + " did not answer");
  if (statement_reply.status == 404) return result(Outcome::NothingNew, "epoch " + number + " is no longer served");
  const auto proof_reply = http_get(*endpoint_, protocol::hub_api::proof_path(epoch, owner), timeout_, traffic_);
  if (proof_reply.status == 0) return result(Outcome::Unreachable, "the hub " + hub_url_ + " did not answer");
  if (proof_reply.status == 404) return result(Outcome::NotAnOwner, owner + " owns nothing yet in epoch " + number);

  const auto reject = [&](const std::string& why) {
    return result(Outcome::Rejected, "statement for epoch " + number + " rejected: " + why);
  };
  try {
    out.statement = protocol::statement_from_json(statement_reply.body);
    out.proof = protocol::leaf_proof_from_json(proof_reply.body);
  } catch (const std::exception& error) {
    return reject(std::string("unreadable (") + error.what() + ")");
  }
  if (proof_reply.body.contains("epoch_revenue_part") && proof_reply.body["epoch_revenue_part"].is_number_unsigned())
    out.epoch_revenue_part = proof_reply.body["epoch_revenue_part"].get<std::uint64_t>();
  out.currency = proof_reply.body.value("currency", "");
  if (out.statement.run_id != run_id_) return reject("it is for run " + out.statement.run_id);
  if (out.statement.epoch != epoch) return reject("it is for epoch " + std::to_string(out.statement.epoch));
  if (!protocol::verify_statement(out.statement, hub_key_)) return reject("the hub signature does not verify");
  if (out.proof.leaf.owner != owner) return reject("the proof is for another owner");
  if (!protocol::verify_leaf(out.statement, out.proof)) return reject("the Merkle proof does not lead to the signed root");
  const auto data = out.statement.version >= 3 ? " (" + std::to_string(out.proof.leaf.data_units) + " of them for data)"
                                                : std::string();
  return result(Outcome::Verified, "epoch " + number + " verified: " + std::to_string(out.proof.leaf.units) + " of " +
                                       std::to_string(out.statement.total_units) + " units" + data + ", revenue " +
                                       std::to_string(out.proof.leaf.revenue) + "; this epoch " +
                                       std::to_string(out.proof.leaf.rejected_receipts) + " receipts rejected, " +
                                       std::to_string(out.proof.leaf.checks_passed) + " spot checks passed, " +
                                       std::to_string(out.proof.leaf.checks_failed) + " failed");
}

OwnerStatement StatementFetcher::fetch_latest(const std::string& owner) const {
  const auto latest = latest_epoch();
  if (latest.outcome != StatementCheck::Outcome::Verified) return OwnerStatement{latest, {}, {}, {}, {}};
  return fetch(latest.epoch, owner);
}

StatementSync::StatementSync(std::string hub_url, std::string run_id, const wallet::PublicKey& hub_key,
                             std::string owner, ledger::LedgerWriter& ledger, std::chrono::milliseconds timeout,
                             net::TrafficMeter* traffic)
    : StatementSync(std::make_shared<HubEndpoint>(hub_url), std::move(run_id), hub_key, std::move(owner), ledger,
                    timeout, traffic) {}

StatementSync::StatementSync(std::shared_ptr<HubEndpoint> endpoint, std::string run_id, const wallet::PublicKey& hub_key,
                             std::string owner, ledger::LedgerWriter& ledger, std::chrono::milliseconds timeout,
                             net::TrafficMeter* traffic)
    : fetcher_(std::move(endpoint), std::move(run_id), hub_key, timeout, traffic),
      owner_(std::move(owner)),
      ledger_(ledger),
      last_epoch_(resume_after(ledger.file(), fetcher_.run_id(), owner_)) {}

StatementCheck StatementSync::poll() {
  const auto latest = fetcher_.latest_epoch();
  if (latest.outcome != StatementCheck::Outcome::Verified) return latest;
  const auto newest = latest.epoch;
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
  const auto fetched = fetcher_.fetch(epoch, owner_);
  // What the hub says accrued this epoch is recorded whatever the proof decides is verified, in
  // the same transaction as the statement or the rejection: a crash keeps both or neither.
  std::vector<ledger::Record> records;
  if (fetched.epoch_revenue_part && *fetched.epoch_revenue_part > 0) {
    ledger::RevenueRecord revenue;
    revenue.run = fetcher_.run_id();
    revenue.epoch = static_cast<std::int64_t>(epoch);
    revenue.amount = static_cast<std::int64_t>(*fetched.epoch_revenue_part);
    revenue.currency = fetched.currency;
    revenue.source = "inference";
    records.push_back(std::move(revenue));
  }
  if (fetched.check.outcome == Outcome::Rejected) {
    ledger::EventRecord event;
    event.kind = "statement_rejected";
    event.run = fetcher_.run_id();
    event.message = fetched.check.message;
    event.details = nlohmann::json{{"epoch", epoch}, {"hub", fetcher_.hub_url()}}.dump();
    records.push_back(std::move(event));
  }
  if (fetched.check.outcome != Outcome::Verified) {
    ledger_.append(std::move(records));
    return fetched.check;
  }

  const auto& statement = fetched.statement;
  const auto& proof = fetched.proof;
  ledger::StatementRecord record;
  record.run = fetcher_.run_id();
  record.epoch = static_cast<std::int64_t>(epoch);
  record.owner = owner_;
  // The log keeps FLOPs (its dashboards' unit); a statement's unit is one verified MFLOP.
  record.units = static_cast<double>(proof.leaf.units) * protocol::kFlopsPerUnit;
  record.run_units = static_cast<double>(statement.total_units) * protocol::kFlopsPerUnit;
  record.cumulative_revenue = static_cast<std::int64_t>(proof.leaf.revenue);
  record.currency = fetched.currency;
  record.merkle_root.assign(statement.root.begin(), statement.root.end());
  record.proof = bytes_of(protocol::to_json(proof).dump());  // the leaf as verified: its data units too
  record.hub_signature.assign(statement.signature.begin(), statement.signature.end());
  record.verified = true;
  records.push_back(std::move(record));
  for (const auto& excluded : statement.events) {  // signed: the hub excluded one of this owner's nodes
    if (excluded.owner != owner_) continue;
    ledger::EventRecord event;
    event.kind = "node_" + excluded.kind;
    event.run = fetcher_.run_id();
    event.message = "node " + wallet::to_hex(excluded.node) + " " + excluded.kind + " at step " +
                    std::to_string(excluded.step) + ": " + excluded.reason;
    event.details = nlohmann::json{{"epoch", epoch}, {"node", wallet::to_hex(excluded.node)}, {"step", excluded.step},
                                   {"reason", excluded.reason}}.dump();
    records.push_back(std::move(event));
  }
  ledger_.append(std::move(records));
  return fetched.check;
}

WatchReport watch_owners(const std::string& hub_url, const std::vector<std::string>& owners,
                         std::chrono::milliseconds timeout) {
  WatchReport report;
  report.hub_url = hub_url;
  protocol::RunManifest manifest;
  std::shared_ptr<HubEndpoint> endpoint;
  try {
    HubClient client(hub_url, timeout);
    endpoint = client.endpoint();
    manifest = client.manifest();  // checked against the link's publisher, or its own
  } catch (const HubUnreachable&) {
    report.unreachable = true;
    report.error = "the hub " + hub_url + " did not answer";
    return report;
  } catch (const std::exception& error) {
    report.error = "the hub " + hub_url + " did not serve a valid, publisher-signed run manifest (" + error.what() +
                   "): nothing it says can be checked";
    return report;
  }
  report.run_id = manifest.run_id;
  report.currency = manifest.currency;
  const StatementFetcher fetcher(endpoint, manifest.run_id, manifest.hub_key, timeout);
  const auto latest = fetcher.latest_epoch();
  for (const auto& owner : owners) {
    if (latest.outcome != StatementCheck::Outcome::Verified) {
      report.owners.push_back(OwnerStatement{latest, {}, {}, {}, {}});
      continue;
    }
    report.owners.push_back(fetcher.fetch(latest.epoch, owner));
    if (report.owners.back().check.outcome == StatementCheck::Outcome::Unreachable) {
      report.unreachable = true;
      report.error = report.owners.back().check.message;
    }
  }
  if (latest.outcome == StatementCheck::Outcome::Unreachable) {
    report.unreachable = true;
    report.error = latest.message;
  }
  return report;
}

}  // namespace tessera::client

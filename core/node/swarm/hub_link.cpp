// The hub thread: heartbeats, peers, receipts, statements.
#include "core/node/swarm/hub_link.h"

#include <algorithm>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/peer_roles.h"
#include "core/node/swarm/reachability.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/status_board.h"
#include "core/node/swarm/work_log.h"

namespace tessera::node::swarm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kReceiptBatch = 500;

}  // namespace

HubLink::HubLink(const RunContext& run, std::shared_ptr<net::PeerAllowlist> allowlist, PeerRoles& roles,
                 StatusBoard& board, control::EventBus* events)
    : run_(run), allowlist_(std::move(allowlist)), roles_(roles), board_(board), events_(events), work_(events),
      traffic_log_(run.traffic) {}

void HubLink::connect() { client_.emplace(run_.options.hub_url, run_.options.hub_timeout, &run_.traffic); }

HubLink::~HubLink() { stop(); }

void HubLink::attach(WorkLog& log, const std::string& owner_address) {
  log_ = &log;
  roles_.set_hub(run_.manifest.hub_key);
  try {
    hub_curve_ = net::curve_public_from(run_.manifest.hub_key);
    allowlist_->allow(*hub_curve_);  // the hub's reachability check at join, before any peer list
  } catch (const std::exception&) {  // not a key anyone can connect with
  }
  // The HubClient's endpoint: one pin of the hub's certificate for both.
  auto endpoint = client_ ? client_->endpoint() : std::make_shared<client::HubEndpoint>(run_.options.hub_url);
  statements_ = std::make_unique<client::StatementSync>(std::move(endpoint), run_.manifest.run_id, run_.manifest.hub_key,
                                                        owner_address, log.ledger(), run_.options.hub_timeout,
                                                        &run_.traffic);
}

void HubLink::attach_spot_checks(LocalStage& local, std::function<void(std::vector<std::string>)> checks) {
  local_ = &local;
  checks_ = std::move(checks);
}

void HubLink::report_weights() {
  if (!local_) return;
  std::vector<client::HubClient::WeightsDigest> reports;
  for (const auto& report : local_->evidence.take_weight_reports()) reports.push_back({report.step, report.digest});
  try {
    client_->report_weights(run_.key, local_->index, reports);  // one signed request for all of them
  } catch (const std::exception& error) {
    if (!std::exchange(weights_refused_, true)) spdlog::warn("weights digests not reported: {}", error.what());
    else spdlog::debug("weights digests not reported: {}", error.what());
  }
}

void HubLink::hand_checks() {
  if (!checks_) return;
  auto tickets = client_->take_checks();
  if (!tickets.empty()) checks_(std::move(tickets));
}

void HubLink::refresh_peers() {
  auto list = client_->peers(run_.key);
  auto keys = roles_.update(list, client_->named());
  if (hub_curve_) keys.insert(*hub_curve_);
  allowlist_->replace(std::move(keys));
  std::lock_guard lock(peers_mutex_);
  peers_ = std::move(list);
}

std::vector<protocol::PeerInfo> HubLink::peers() const {
  std::lock_guard lock(peers_mutex_);
  return peers_;
}

void HubLink::report_receipts() {
  std::lock_guard lock(report_mutex_);
  try {
    board_.count_logged(log_->settle(false));
  } catch (const std::exception& error) {
    spdlog::error("could not log a step's work: {}", error.what());
  }
  const auto batch = log_->outbox_front(kReceiptBatch);
  if (batch.empty()) return;
  const auto result = client_->report_receipts(run_.key, batch);
  log_->drop_sent(batch.size());
  if (result.contains("rejected") && !result["rejected"].empty())
    spdlog::warn("the hub rejected {} receipts: {}", result["rejected"].size(), result["rejected"].dump());
  board_.count_reported(batch.size());
}

// After each epoch: fetch the owner's statement and proof, verify, record (client::StatementSync).
void HubLink::poll_statements() {
  if (!statements_ || Clock::now() < next_statement_poll_) return;
  const auto epoch_ms = std::max<std::int64_t>(run_.manifest.epoch_seconds, 1) * 1000;
  next_statement_poll_ = Clock::now() + std::chrono::milliseconds(std::clamp<std::int64_t>(epoch_ms / 4, 500, 30000));
  try {
    const auto check = statements_->poll();
    using Outcome = client::StatementCheck::Outcome;
    if (check.outcome == Outcome::Verified) {
      spdlog::info("{}", check.message);
      if (events_) events_->publish("statement", {{"epoch", check.epoch}, {"verified", true}, {"message", check.message}});
    } else if (check.outcome == Outcome::Rejected) {
      spdlog::error("{}", check.message);
      if (events_) events_->publish("error", {{"message", check.message}});
    }
  } catch (const std::exception& error) {
    spdlog::warn("statements: {}", error.what());
  }
}

void HubLink::loop() {
  while (running_) {
    if (!board_.excluded()) try {
      const auto traffic = run_.traffic.report();
      if (reach_) reach_->maintain(*client_);
      const auto relay_counts = reach_ ? reach_->heartbeat_fields() : nlohmann::json::object();
      if (!client_->heartbeat(run_.key, &traffic, relay_counts)) rejoin_ = true;
      hand_checks();
      refresh_peers();
      report_receipts();
    } catch (const client::HubExcluded& excluded) {
      board_.set_excluded(excluded.reason);
    } catch (const std::exception& error) {
      spdlog::warn("hub: {}", error.what());
    }
    work_.poll(*client_, run_.self());
    poll_statements();
    report_weights();
    traffic_log_.tick();
    std::unique_lock lock(wake_mutex_);
    wake_.wait_for(lock, std::min<std::chrono::milliseconds>(run_.options.heartbeat_every, 500ms), [this] { return !running_; });
  }
}

void HubLink::start() {
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void HubLink::request_stop() {
  {
    std::lock_guard lock(wake_mutex_);
    running_ = false;
  }
  wake_.notify_all();
}

void HubLink::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tessera::node::swarm

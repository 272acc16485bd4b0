// The checker's thread: verify the ticket, fetch the evidence, check and recompute, report.
#include "core/node/swarm/spot_checker.h"

#include <spdlog/spdlog.h>

#include "core/node/swarm/evidence_transfer.h"
#include "core/node/swarm/run_context.h"
#include "core/protocol/unix_time.h"

namespace tessera::node::swarm {

SpotChecker::SpotChecker(const RunContext& run, PeerCalls& calls, FindWorker find_worker, SendReport send_report)
    : run_(run), calls_(calls), find_worker_(std::move(find_worker)), send_report_(std::move(send_report)),
      recompute_(run.manifest) {}

SpotChecker::~SpotChecker() { stop(); }

void SpotChecker::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void SpotChecker::stop() {
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpotChecker::offer(const std::vector<std::string>& tickets) {
  std::size_t refused = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& ticket : tickets) {
      if (queue_.size() >= kQueue) ++refused;
      else queue_.push_back(ticket);
    }
  }
  if (refused) spdlog::warn("spot checks: {} tickets refused, {} are waiting already", refused, kQueue);
  wake_.notify_all();
}

void SpotChecker::loop() {
  for (;;) {
    std::string ticket;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return !running_ || !queue_.empty(); });
      if (!running_) return;
      ticket = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      if (const auto report = check(ticket)) send_report_(*report);
    } catch (const std::exception& error) {
      spdlog::warn("spot check: could not report: {}", error.what());
    }
  }
}

std::optional<protocol::CheckReport> SpotChecker::check(const std::string& ticket_hex) {
  const auto ticket = protocol::SignedCheckTicket::from_hex(ticket_hex);
  if (!ticket) {
    spdlog::warn("spot check: the hub handed a malformed ticket");
    return std::nullopt;
  }
  protocol::CheckExpectation expected{run_.manifest.run_id, run_.manifest.hub_key, std::nullopt, run_.self(),
                                      protocol::unix_now_ms()};
  if (const auto why = protocol::check_check_ticket(*ticket, expected)) {
    spdlog::warn("spot check: ticket refused: {}", *why);
    return std::nullopt;
  }
  auto report = fetch_and_check(ticket->ticket, ticket_hex);
  ++done_;
  spdlog::info("spot check {} of {} (step {}, micro-batch {}, stage {}): {}{}", report.check_id,
               short_key(ticket->ticket.worker), ticket->ticket.step, ticket->ticket.micro_batch, ticket->ticket.stage,
               report.status == protocol::CheckStatus::Computed ? "computed" : "not computed: ", report.reason);
  return report;
}

protocol::CheckReport SpotChecker::fetch_and_check(const protocol::CheckTicket& ticket, const std::string& ticket_hex) {
  using protocol::CheckStatus;
  const auto worker = find_worker_(ticket.worker);
  if (!worker) return failed_check(ticket.check_id, CheckStatus::Unavailable, "the hub does not list the worker");
  std::vector<std::uint8_t> bytes;
  try {
    bytes = download_evidence(run_, calls_, *worker, ticket, ticket_hex);
  } catch (const std::exception& error) {  // silent, refusing, or chunks that do not add up
    return failed_check(ticket.check_id, CheckStatus::Unavailable, std::string("no evidence: ") + error.what());
  }
  net::CheckEvidence evidence;
  try {
    evidence = net::CheckEvidence::decode(bytes);
  } catch (const std::invalid_argument& error) {
    return failed_check(ticket.check_id, CheckStatus::EvidenceMismatch, error.what());
  }
  try {
    return recompute_.check(ticket, evidence);
  } catch (const std::exception& error) {  // the scratch stage could not be built here (memory, config)
    return failed_check(ticket.check_id, CheckStatus::Unavailable, std::string("this checker cannot recompute: ") + error.what());
  }
}

}  // namespace tessera::node::swarm

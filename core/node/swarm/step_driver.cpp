// The step driver's phases.
#include "core/node/swarm/step_driver.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/node/swarm/hub_link.h"
#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/micro_batch_schedule.h"
#include "core/node/swarm/peer_roles.h"
#include "core/node/swarm/reduce_round.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/status_board.h"
#include "core/node/swarm/step_record_builder.h"
#include "core/node/swarm/training_data.h"
#include "core/protocol/step_ticket.h"
#include "core/protocol/unix_time.h"
#include "core/wallet/encoding.h"

namespace tessera::node::swarm {
namespace {

using namespace std::chrono_literals;

// Attempt ids grow with the clock, so a driver that restarts (same key) starts above its old ids
// (stages refuse a ticket older than the driver's newest, step_ticket.h): 4096 attempts per
// millisecond of the previous run's life before they could meet.
std::uint64_t attempt_base() { return static_cast<std::uint64_t>(protocol::unix_now_ms()) << 12; }

// How long the driver waits for a peer another one reported failed to answer it directly.
constexpr auto kCheckTimeout = 2s;

double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

}  // namespace

StepDriver::StepDriver(const RunContext& run, LocalStage& local, ForwardWork& forward, PeerCalls& calls, HubLink& hub,
                       const PeerRoles& roles, StatusBoard& board, control::EventBus* events)
    : run_(run), local_(local), forward_(forward), calls_(calls), hub_(hub), roles_(roles), board_(board),
      events_(events), next_attempt_(attempt_base()), routes_(run.manifest.run_id, run.manifest.hub_key) {}

bool StepDriver::suspected(const wallet::PublicKey& peer) {
  const auto* until = suspects_.find(peer);
  if (!until) return false;
  if (Clock::now() > *until) {
    suspects_.erase(peer);
    return false;
  }
  return true;
}

void StepDriver::suspect(const wallet::PublicKey& peer, const std::string& why) {
  if (peer == run_.self()) return;
  spdlog::warn("leaving peer {} out for now: {}", short_key(peer), why);
  const auto now = Clock::now();
  if (suspects_.size() >= suspects_.capacity())
    suspects_.erase_if([&](const wallet::PublicKey&, Clock::time_point until) { return until < now; });
  suspects_.put(peer, now + run_.options.suspect_for);
  if (events_) events_->publish("peer", {{"peer", wallet::to_hex(peer)}, {"event", "failed"}, {"reason", why}});
}

bool StepDriver::answers_ping(const wallet::PublicKey& peer, std::uint64_t step) {
  for (const auto& listed : hub_.peers())
    if (listed.node_key == peer) {
      const auto timeout = std::min<net::Timeout>(kCheckTimeout, run_.options.hop_timeout);
      return calls_.request({peer, listed.endpoint}, run_.header(net::MessageKind::Ping, step, 0, listed.stage), {}, timeout)
          .has_value();
    }
  return false;
}

void StepDriver::blame(const PeerFailure& failure, const StepAttempt& attempt, const std::set<wallet::PublicKey>* answered) {
  if (!failure.reported_by) return suspect(failure.peer, failure.what());
  const auto& accuser = *failure.reported_by;
  // A report naming a peer outside the attempt proves nothing about anyone but its sender.
  if (!attempt.participates(failure.peer))
    return suspect(accuser, "reported " + short_key(failure.peer) + ", which is not in the attempt, failed: " + failure.what());
  if (answered ? answered->count(failure.peer) != 0 : answers_ping(failure.peer, attempt.step))
    return suspect(accuser, "reported " + short_key(failure.peer) + " failed, which answers the driver: " + failure.what());
  suspect(failure.peer, std::string(failure.what()) + " (reported by " + short_key(accuser) + ", and silent to the driver)");
}

bool StepDriver::is_driver() const { return roles_.driver() == run_.self(); }

bool StepDriver::ping(const std::vector<protocol::PeerInfo>& peers, StepAttempt& attempt) {
  spdlog::debug("step {}: pinging {} peers", attempt.step, peers.size());
  const int count = run_.manifest.stages;
  attempt.replicas.assign(static_cast<std::size_t>(count), {});
  std::uint64_t latest = attempt.step;  // the latest step a live peer is at
  for (const auto& peer : peers) {
    if (!peer.ready() || suspected(peer.node_key) || peer.stage < 0 || peer.stage >= count) continue;
    const Hop hop{peer.node_key, peer.endpoint};
    if (peer.node_key != run_.self()) {
      auto reply = calls_.request(hop, run_.header(net::MessageKind::Ping, attempt.step, 0, peer.stage), {}, 2s);
      if (!reply) {
        suspect(peer.node_key, "no answer to ping");
        continue;
      }
      // A refusal (its peer list may not name this driver yet), a peer behind, ahead — whatever
      // step it claims — or paused: it sits this step out, and nothing else follows from it.
      if (reply->header.kind != net::MessageKind::Pong) continue;
      const auto pong = net::PongReply::decode(reply->envelope);
      if (reply->header.step == pong.step) latest = std::max(latest, pong.step);
      if (reply->header.step != attempt.step || pong.step != attempt.step || pong.paused) continue;
    }
    attempt.replicas[static_cast<std::size_t>(peer.stage)].push_back(hop);
  }
  for (int k = 0; k < count; ++k)
    if (attempt.replicas[static_cast<std::size_t>(k)].empty()) {
      board_.set_state("waiting", "stage " + std::to_string(k) + " has no live replica at step " + std::to_string(attempt.step));
      // Others went on without this stage (it lagged, or missed a commit): it catches up (catch_up.h).
      local_.asked_for(latest, attempt.step);
      return false;
    }
  order_routes(peers, attempt);
  for (const auto& replicas : attempt.replicas)
    attempt.participants.insert(attempt.participants.end(), replicas.begin(), replicas.end());
  board_.set_state("running");
  spdlog::debug("step {}: replicas per stage ready ({} in sync)", attempt.step, attempt.participants.size());
  return true;
}

void StepDriver::order_routes(const std::vector<protocol::PeerInfo>& peers, StepAttempt& attempt) {
  const auto settling = Clock::now();
  if (reporter_)
    if (auto answered = reporter_->settle()) routes_.offer(*answered);
  spdlog::debug("step {}: waited {:.2f} ms for the last step's report", attempt.step, ms(settling, Clock::now()));
  routes_.offer(hub_.client().listed_route_seed());  // newer than the reporter's when another driver reported last
  const auto seed = routes_.seed_for(attempt.step);
  attempt.route_seed = seed.value_or(RouteSeedBytes{});
  for (std::size_t k = 0; k < attempt.replicas.size(); ++k)
    attempt.replicas[k] = RouteOrder::order(seed, static_cast<int>(k), std::move(attempt.replicas[k]), peers);
}

void StepDriver::run_micro_batches(StepAttempt& attempt) {
  // A stage after one with several replicas can take its micro-batches out of order: a micro-batch
  // may wait there for the others that replica serves (ceil(M / R) of the step's M).
  const int micro_batches = run_.manifest.train.micro_batches;
  for (std::size_t k = 1; k < attempt.replicas.size(); ++k)
    if (attempt.replicas[k - 1].size() > 1) {
      const auto r = static_cast<int>(attempt.replicas[k].size());
      attempt.queue = std::max(attempt.queue, (micro_batches + r - 1) / r - 1);
    }
  protocol::StepTicket ticket;
  ticket.run_id = run_.manifest.run_id;
  ticket.step = attempt.step;
  ticket.attempt = attempt.id;
  ticket.driver = run_.self();
  ticket.micro_batches = static_cast<std::uint32_t>(micro_batches);
  ticket.queue = static_cast<std::uint32_t>(attempt.queue);
  for (const auto& stage : attempt.replicas) {
    auto& hops = ticket.replicas.emplace_back();
    for (const auto& hop : stage) hops.push_back({hop.key, hop.endpoint});
  }
  attempt.ticket = protocol::sign_step_ticket(ticket, run_.key).to_hex();
  MicroBatchSchedule(run_, local_, forward_, calls_, *data_, attempt).run();
  attempt.micro_batches_done = Clock::now();
  spdlog::debug("step {}: micro-batches done", attempt.step);
}

void StepDriver::reduce(StepAttempt& attempt) {
  const std::int64_t shared_size = [&] {
    std::lock_guard lock(local_.mutex);
    return local_.stage ? local_.stage->shared_embedding_size() : 0;
  }();
  ReduceRound round(
      run_, calls_, attempt, shared_size, [&](const PeerFailure& failure) { blame(failure, attempt, nullptr); },
      [this](const wallet::PublicKey& peer) { return suspected(peer); });
  round.reduce(hub_.peers());
  attempt.reduced = Clock::now();
  spdlog::debug("step {}: reduced", attempt.step);
  round.share_embeddings();
}

net::StepRequest StepDriver::commit(StepAttempt& attempt) {
  double squared = 0;
  for (const double n : attempt.norms) squared += n;
  const int count = run_.manifest.stages;
  net::StepRequest request;
  request.attempt = attempt.id;
  request.norm = std::sqrt(squared);
  request.loss = attempt.loss_sum / run_.manifest.train.micro_batches;
  request.bytes_per_token = count > 1 && attempt.tokens > 0 ? attempt.forward_bytes / (count - 1) / attempt.tokens : 0.0;
  request.step_tokens = attempt.tokens;
  const auto message = request.encode();
  // Every participant steps and makes its log rows durable at the same time, not one after another.
  std::vector<std::future<std::optional<PeerFailure>>> commits;
  for (const auto& hop : attempt.committers)
    commits.push_back(std::async(std::launch::async, [&, hop]() -> std::optional<PeerFailure> {
      try {
        calls_.request(hop, run_.header(net::MessageKind::Step, attempt.step, 0, 0), message, run_.options.hop_timeout,
                       net::MessageKind::Ack);
      } catch (const PeerFailure& failure) {
        return failure;
      }
      return std::nullopt;
    }));
  for (auto& done : commits)
    if (auto failure = done.get()) blame(*failure, attempt, nullptr);  // it will resync
  return request;
}

void StepDriver::report(const StepAttempt& attempt, const net::StepRequest& committed) {
  const double seconds = std::chrono::duration<double>(Clock::now() - attempt.started).count();
  spdlog::debug(
      "timing step {}: {:.1f} ms: since the last step and pings {:.1f}, micro-batches {:.1f}, reduce {:.1f}, shared and "
      "commit {:.1f}",
      attempt.step, seconds * 1000, ms(attempt.started, attempt.pinged), ms(attempt.pinged, attempt.micro_batches_done),
      ms(attempt.micro_batches_done, attempt.reduced), ms(attempt.reduced, Clock::now()));
  if (!reporter_) reporter_.emplace(run_, hub_.client());
  reporter_->post(build_step_record(run_, attempt),
                  {{"step", attempt.step + 1}, {"loss", *committed.loss}, {"tokens", committed.step_tokens},
                   {"seconds", seconds}, {"bytes_per_token", *committed.bytes_per_token}, {"grad_norm", committed.norm},
                   {"replicas", attempt.participants.size()}, {"shared_embedding_bytes", attempt.shared_bytes}});
}

std::set<wallet::PublicKey> StepDriver::abort(const StepAttempt& attempt) {
  const auto message = net::AttemptRequest{attempt.id}.encode();
  std::vector<std::future<bool>> answers;
  for (const auto& hop : attempt.participants)
    answers.push_back(std::async(std::launch::async, [&, hop] {
      spdlog::debug("abort to {}{}", short_key(hop.key), hop.key == run_.self() ? " (self)" : "");
      return calls_.request(hop, run_.header(net::MessageKind::Abort, attempt.step, 0, 0), message, 2s).has_value();
    }));
  std::set<wallet::PublicKey> answered;
  for (std::size_t i = 0; i < answers.size(); ++i)
    if (answers[i].get()) answered.insert(attempt.participants[i].key);
  board_.count_aborted();
  return answered;
}

bool StepDriver::load_data() {
  try {
    if (!run_.manifest.shards.empty()) board_.set_state("waiting", "fetching the run's data shards");
    data_.emplace(load_training_data(run_, hub_.client(), events_));
    return true;
  } catch (const std::exception& error) {
    spdlog::error("the run's data: {}", error.what());
    board_.set_state("error", std::string("the run's data: ") + error.what());
    if (events_) events_->publish("error", {{"message", std::string("the run's data: ") + error.what()}});
    std::this_thread::sleep_for(2s);  // then the next turn of the training loop tries again
    return false;
  }
}

bool StepDriver::drive_step(const std::vector<protocol::PeerInfo>& peers, std::uint64_t step) {
  if (!data_ && !load_data()) return false;
  StepAttempt attempt;
  attempt.step = step;
  // A step's time counts its pings, and when it follows a committed step straight away also the
  // time since that one was reported (the report itself, the loop between steps).
  attempt.started = last_step_end_ != Clock::time_point{} && Clock::now() - last_step_end_ < 1s ? last_step_end_ : Clock::now();
  last_step_end_ = {};
  if (!ping(peers, attempt)) return false;
  attempt.id = next_attempt_++;
  attempt.pinged = Clock::now();
  try {
    run_micro_batches(attempt);
    reduce(attempt);
    report(attempt, commit(attempt));
    last_step_end_ = Clock::now();
    return true;
  } catch (const PeerFailure& failure) {
    const auto answered = abort(attempt);
    blame(failure, attempt, &answered);
    if (events_) events_->publish("error", {{"message", std::string("step abandoned, retrying: ") + failure.what()}});
    return false;
  }
}

}  // namespace tessera::node::swarm

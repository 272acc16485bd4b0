// The request handlers of this node's stage.
#include "core/node/swarm/handlers.h"

#include <spdlog/spdlog.h>

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/status_board.h"
#include "core/node/swarm/work_log.h"

namespace tessera::node::swarm {

using json = nlohmann::json;

struct Handlers::Entry {
  net::MessageKind kind;
  Sender sender;  // who may send it
  Out (*handle)(Handlers&, const net::Incoming&, const net::Envelope&);
};

// Every request kind this node takes, who may send it (docs/swarm.md "Who may send what") and its
// handler. Replies (Backward, Pong, Ack, …) and anything else sent as a request are refused.
const Handlers::Entry* Handlers::entry_of(net::MessageKind kind) {
  using K = net::MessageKind;
  using In = const net::Incoming&;
  using Env = const net::Envelope&;
  static constexpr Entry kEntries[] = {
      {K::Forward, Sender::TicketedHop, [](Handlers& h, In in, Env e) { return h.forward_in_a_row(in, e); }},
      {K::Reduce, Sender::Driver, [](Handlers& h, In in, Env e) { return h.reduce_.reduce(in, e); }},
      {K::SharedGradient, Sender::Driver, [](Handlers& h, In in, Env e) { return h.reduce_.shared_gradient(in, e); }},
      {K::Step, Sender::Driver, [](Handlers& h, In in, Env e) { return h.step(in, e); }},
      {K::Abort, Sender::Driver, [](Handlers& h, In in, Env e) { return h.abort(in, e); }},
      {K::Ping, Sender::Driver, [](Handlers& h, In in, Env e) { return h.ping(in, e); }},
      {K::GradFetch, Sender::StageReplica, [](Handlers& h, In in, Env e) { return h.reduce_.grad_fetch(in, e); }},
      {K::StateRequest, Sender::StageReplica, [](Handlers& h, In in, Env e) { return h.state_.serve(in, e); }},
      {K::Infer, Sender::HubTicket, [](Handlers& h, In in, Env e) { return h.inference_.serve(in, e); }},
      {K::CheckFetch, Sender::Checker, [](Handlers& h, In in, Env e) { return h.evidence_.serve(in, e); }},
  };
  for (const auto& entry : kEntries)
    if (entry.kind == kind) return &entry;
  return nullptr;
}

net::Envelope Handlers::open_request(const net::Incoming& in, std::optional<json>& request) const {
  auto envelope = net::unpack(in.message.payload);
  if (!envelope) throw std::invalid_argument("malformed payload envelope");
  // Only a number is a request id (a sender's own counter): nothing else is copied back.
  if (const auto id = envelope->meta.find("request"); id != envelope->meta.end() && id->is_number_unsigned())
    request = *id;
  if (in.message.header.run_id != run_.manifest.run_id) throw std::invalid_argument("this node serves run " + run_.manifest.run_id);
  return std::move(*envelope);
}

void Handlers::admit(const net::Incoming& in, const net::Envelope& envelope) {
  const auto* entry = entry_of(in.message.header.kind);
  if (!entry) throw Unauthorised(std::string("a ") + net::kind_name(in.message.header.kind) + " is not a request");
  authoriser_.admit(entry->sender, in, envelope);
}

Out Handlers::error_out(const net::MessageHeader& h, const std::string& message, const wallet::PublicKey* failed,
                        const std::optional<json>& request) const {
  net::ErrorReply error{message, {}};
  if (failed) error.failed_peer = *failed;
  Out out{run_.header(net::MessageKind::Error, h.step, h.micro_batch, std::max(0, local_.index.load())), error.encode()};
  if (request) out.envelope.meta["request"] = *request;
  return out;
}

void Handlers::log_refusal(const std::string& line) {
  std::uint64_t unlogged = 0;
  {
    std::lock_guard lock(log_mutex_);
    const auto now = Clock::now();
    if (now - last_refusal_log_ < std::chrono::seconds(1)) {
      ++unlogged_refusals_;
      return;
    }
    last_refusal_log_ = now;
    unlogged = std::exchange(unlogged_refusals_, 0);
  }
  if (unlogged) spdlog::warn("{} ({} more refusals not logged in the last second)", line, unlogged);
  else spdlog::warn("{}", line);
}

Out Handlers::failed(const net::MessageHeader& h, const std::optional<json>& request, const char* what) {
  try {
    throw;
  } catch (const PeerFailure& failure) {
    return error_out(h, failure.what(), &failure.peer, request);
  } catch (const Unauthorised& refused) {
    board_.count_unauthorised();
    log_refusal(fmt::format("refused a {} request from a sender not allowed to send it: {}", net::kind_name(h.kind),
                            refused.what()));
    return error_out(h, refused.what(), nullptr, request);
  } catch (const std::exception& error) {
    board_.count_rejected();
    log_refusal(what ? fmt::format("refused {}: {}", what, error.what())
                     : fmt::format("refused a {} request: {}", net::kind_name(h.kind), error.what()));
    return error_out(h, error.what(), nullptr, request);
  }
}

Out Handlers::dispatch(const net::Incoming& in) {
  const auto& h = in.message.header;
  std::optional<json> request;
  try {
    auto envelope = open_request(in, request);
    std::lock_guard lock(local_.mutex);
    if (!local_.stage) throw std::invalid_argument("this node has no stage yet");
    admit(in, envelope);
    auto out = entry_of(h.kind)->handle(*this, in, envelope);
    if (request) out.envelope.meta["request"] = *request;
    return out;
  } catch (const std::exception&) {
    return failed(h, request);
  }
}

// A Forward run start to finish: the last stage's, or one that the stage server did not pass on.
Out Handlers::forward_in_a_row(const net::Incoming& in, const net::Envelope& envelope) {
  auto job = forward_.begin_request(in, envelope);
  if (job.next) {
    Sent sent;
    const auto reply = calls_.request(*job.next, job.down, job.down_message, forward_.downstream_timeout(job.queue),
                                      net::MessageKind::Backward, &sent);
    forward_.land(job, reply, sent);
  }
  return forward_.reply_out(job);
}

Out Handlers::step(const net::Incoming& in, const net::Envelope& envelope) {
  const auto& h = in.message.header;
  const auto commit = net::StepRequest::decode(envelope);
  if (commit.attempt != local_.attempt.active || h.step != local_.attempt.step ||
      local_.stage->step_count() != static_cast<std::int64_t>(h.step))
    throw std::invalid_argument("step commit for an attempt this replica is not in");
  board_.count_logged(log_.settle(true));  // the previous step's rows are durable before this step is acknowledged
  const auto t0 = Clock::now();
  auto metrics = local_.stage->step(commit.norm);
  local_.finish_averaging_round();
  const auto t1 = Clock::now();
  log_.commit(h.step, local_.index, local_.attempt);
  board_.record_commit(h.step, commit);
  const auto trained = static_cast<std::uint64_t>(local_.attempt.work.micro_batches) * run_.tokens_per_micro_batch();
  run_.traffic.count_trained_tokens(trained);
  // As raw float32 each trained token's residual stream (width values) crosses each of this
  // stage's boundaries once forward and once back.
  const int boundaries = (local_.index > 0 ? 1 : 0) + (local_.index < run_.manifest.stages - 1 ? 1 : 0);
  run_.traffic.count_fp32_equivalent(trained * static_cast<std::uint64_t>(run_.manifest.model.width) * 4 * 2 *
                                     static_cast<std::uint64_t>(boundaries));
  local_.attempt.reset();
  local_.evidence.commit(h.step);
  local_.keep_starting_weights();  // of step h.step + 1, reported by the hub thread
  spdlog::debug("timing step {}: optimizer {} us, log commit {} us", h.step,
                std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count(),
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t1).count());
  return {run_.header(net::MessageKind::Ack, h.step, 0, local_.index), net::AckReply{metrics["lr"]}.encode()};
}

Out Handlers::abort(const net::Incoming& in, const net::Envelope& envelope) {
  const auto attempt = net::AttemptRequest::decode(envelope).attempt;
  local_.attempt.abandon(attempt);
  if (attempt == local_.attempt.active) local_.discard_attempt();
  return {run_.header(net::MessageKind::Ack, in.message.header.step, 0, local_.index), net::AckReply{}.encode()};
}

Out Handlers::ping(const net::Incoming& in, const net::Envelope&) {
  const auto mine = static_cast<std::uint64_t>(local_.stage->step_count());
  local_.asked_for(in.message.header.step, mine);
  return {run_.header(net::MessageKind::Pong, mine, 0, local_.index), net::PongReply{mine, board_.paused_or_snoozed()}.encode()};
}

Reply Handlers::local(net::MessageHeader h, const net::Envelope& message) {
  net::Incoming in;
  in.peer = run_.curve.public_key;
  auto meta = message.meta;
  meta["request"] = 0;
  in.message.payload = net::pack(meta, message.blob);
  h.payload_bytes = in.message.payload.size();
  h.payload_hash = net::payload_hash(in.message.payload);
  in.message.header = h;
  auto out = dispatch(in);
  return {std::move(out.header), std::move(out.envelope)};
}

}  // namespace tessera::node::swarm

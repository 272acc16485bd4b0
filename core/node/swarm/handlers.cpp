// The request handlers of this node's stage.
#include "core/node/swarm/handlers.h"

#include <spdlog/spdlog.h>

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/status_board.h"
#include "core/node/swarm/work_log.h"

namespace tessera::node::swarm {

using json = nlohmann::json;

net::Envelope Handlers::open_request(const net::Incoming& in, std::optional<json>& request) const {
  auto envelope = net::unpack(in.message.payload);
  if (!envelope) throw std::invalid_argument("malformed payload envelope");
  if (envelope->meta.contains("request")) request = envelope->meta["request"];
  if (in.message.header.run_id != run_.manifest.run_id) throw std::invalid_argument("this node serves run " + run_.manifest.run_id);
  return std::move(*envelope);
}

Out Handlers::error_out(const net::MessageHeader& h, const std::string& message, const wallet::PublicKey* failed,
                        const std::optional<json>& request) const {
  net::ErrorReply error{message, {}};
  if (failed) error.failed_peer = *failed;
  Out out{run_.header(net::MessageKind::Error, h.step, h.micro_batch, std::max(0, local_.index.load())), error.encode()};
  if (request) out.envelope.meta["request"] = *request;
  return out;
}

Out Handlers::refuse(const net::MessageHeader& h, const std::exception& error, const std::optional<json>& request,
                     const char* what) {
  board_.count_rejected();
  if (what) spdlog::warn("refused {}: {}", what, error.what());
  else spdlog::warn("refused a {} request: {}", net::kind_name(h.kind), error.what());
  return error_out(h, error.what(), nullptr, request);
}

Out Handlers::dispatch(const net::Incoming& in) {
  const auto& h = in.message.header;
  std::optional<json> request;
  try {
    auto envelope = open_request(in, request);
    std::lock_guard lock(local_.mutex);
    if (!local_.stage) throw std::invalid_argument("this node has no stage yet");
    auto out = handle(in, envelope);
    if (request) out.envelope.meta["request"] = *request;
    return out;
  } catch (const PeerFailure& failure) {
    return error_out(h, failure.what(), &failure.peer, request);
  } catch (const std::exception& error) {
    return refuse(h, error, request);
  }
}

Out Handlers::handle(const net::Incoming& in, const net::Envelope& envelope) {
  switch (in.message.header.kind) {
    case net::MessageKind::Forward: return forward_in_a_row(in, envelope);
    case net::MessageKind::Reduce: return reduce_.reduce(in, envelope);
    case net::MessageKind::GradFetch: return reduce_.grad_fetch(in, envelope);
    case net::MessageKind::Step: return step(in, envelope);
    case net::MessageKind::SharedGradient: return reduce_.shared_gradient(in, envelope);
    case net::MessageKind::Abort: return abort(in, envelope);
    case net::MessageKind::Ping: return ping(in);
    case net::MessageKind::StateRequest: return state_.serve(in, envelope);
    case net::MessageKind::Infer: return infer(in, envelope);
    default: throw std::invalid_argument(std::string("unexpected message kind ") + net::kind_name(in.message.header.kind));
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
  const auto t1 = Clock::now();
  log_.commit(h.step, local_.index, local_.attempt);
  board_.record_commit(h.step, commit);
  local_.attempt.reset();
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

Out Handlers::ping(const net::Incoming& in) {
  const auto mine = static_cast<std::uint64_t>(local_.stage->step_count());
  if (mine < in.message.header.step) local_.need_resync = true;
  return {run_.header(net::MessageKind::Pong, mine, 0, local_.index), net::PongReply{mine, board_.paused_or_snoozed()}.encode()};
}

Out Handlers::infer(const net::Incoming& in, const net::Envelope& envelope) {
  const auto& h = in.message.header;
  const int k = local_.index;
  if (h.stage != k) throw std::invalid_argument("this node serves stage " + std::to_string(k));
  auto request = net::InferRequest::decode(envelope);
  const auto route = request.input.route;
  const int batch = request.input.batch, sequence = request.input.sequence;
  const auto input = forward_.input_of(h, std::move(request.input), -1);
  forward_.check_route(route);
  Out out{run_.header(net::MessageKind::Logits, h.step, 0, k), {}};
  if (k == run_.manifest.stages - 1) {
    out.envelope.blob = net::floats_to_bytes(local_.stage->last_position_logits(input));
    return out;
  }
  auto result = local_.stage->evaluate(input);
  auto down = run_.header(net::MessageKind::Infer, h.step, 0, k + 1);
  for (auto d : result.output.activations.shape) down.shape.push_back(static_cast<std::uint64_t>(d));
  net::InferRequest next;
  next.input.batch = batch;
  next.input.sequence = sequence;
  next.input.route.assign(route.begin() + 1, route.end());
  next.input.activations = std::move(result.output.activations.bytes);
  next.input.tokens = input.tokens;
  auto reply = calls_.request(route.front(), down, next.encode(), run_.options.hop_timeout * (run_.manifest.stages - 1 - k),
                              net::MessageKind::Logits);
  out.envelope.blob = std::move(reply.envelope.blob);
  return out;
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

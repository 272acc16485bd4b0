// A training micro-batch's forward, downstream answer and backward on this stage.
#include "core/node/swarm/forward_work.h"

#include <random>

#include <spdlog/spdlog.h>

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/slot_digests.h"
#include "core/wallet/encoding.h"

namespace tessera::node::swarm {
namespace {

// What a cheating node (SwarmNodeOptions::tamper) sends instead of its work: a payload of the
// run's codec and the right shape, random in [-1, 1] or all zeros, finite either way.
model::Payload made_up_payload(model::CodecKind codec, const std::vector<std::int64_t>& shape, bool random) {
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  std::vector<float> values(static_cast<std::size_t>(count), 0.0f);
  if (random) {
    thread_local std::mt19937 generator{std::random_device{}()};
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (auto& v : values) v = uniform(generator);
  }
  return model::encode(codec, shape, values.data());
}

}  // namespace

// The stage's forward. A node that skips its backward has nothing to stash: it runs the blocks
// without gradients (the output is the same with dropout 0).
engine::ForwardResult ForwardWork::forward(const engine::ForwardMessage& input) {
  if (!run_.options.tamper.skip_backward) return local_.stage->forward(input);
  auto evaluated = local_.stage->evaluate(input);
  engine::ForwardResult result;
  result.output = std::move(evaluated.output);
  result.metrics["tokens"] = static_cast<double>(input.batch) * input.sequence;
  if (local_.index == run_.manifest.stages - 1) result.metrics["loss"] = evaluated.loss;
  return result;
}

// The stage's backward; a node that skips it answers a zero input gradient (none on stage 0).
engine::BackwardResult ForwardWork::backward(const ForwardJob& job, const model::Payload& gradient) {
  if (!run_.options.tamper.skip_backward) return local_.stage->backward(job.h.micro_batch, gradient);
  engine::BackwardResult skipped;
  if (local_.index > 0) {
    std::vector<std::int64_t> shape;
    for (auto d : job.h.shape) shape.push_back(static_cast<std::int64_t>(d));
    skipped.grad_input = made_up_payload(run_.codec, shape, false);
  }
  return skipped;
}

engine::ForwardMessage ForwardWork::input_of(const net::MessageHeader& h, net::StageInput input,
                                             std::int64_t micro_batch) const {
  engine::ForwardMessage out;
  out.micro_batch = micro_batch;
  out.batch = input.batch;
  out.sequence = input.sequence;
  out.tokens = std::move(input.tokens);
  if (local_.index > 0) {
    out.activations.codec = run_.codec;
    for (auto d : h.shape) out.activations.shape.push_back(static_cast<std::int64_t>(d));
    out.activations.bytes = std::move(input.activations);
  } else if (!input.activations.empty()) {
    throw std::invalid_argument("stage 0 takes token ids only");
  }
  return out;
}

void ForwardWork::check_route(const std::vector<Hop>& route) const {
  if (static_cast<int>(route.size()) != run_.manifest.stages - 1 - local_.index)
    throw std::invalid_argument("route does not reach the last stage");
  for (const auto& hop : route)
    if (hop.key == run_.self()) throw std::invalid_argument("the route names this node");
}

net::Timeout ForwardWork::downstream_timeout(int queue) const {
  return run_.options.hop_timeout * (run_.manifest.stages - 1 - local_.index + queue);
}

ForwardJob ForwardWork::begin_request(const net::Incoming& in, const net::Envelope& envelope) {
  const auto& h = in.message.header;
  const int k = local_.index;
  if (h.stage != k) throw std::invalid_argument("this node serves stage " + std::to_string(k));
  auto request = net::ForwardRequest::decode(envelope);
  if (h.codec != static_cast<std::uint8_t>(run_.codec)) throw std::invalid_argument("payload codec differs from the run's");
  if (request.queue >= run_.manifest.train.micro_batches) throw std::invalid_argument("queue out of range");
  const auto route = request.input.route;
  const auto input = input_of(h, std::move(request.input), h.micro_batch);
  return begin(h, request.attempt, request.from, input, route, in.message.payload.size(), request.queue, request.ticket);
}

ForwardJob ForwardWork::begin(const net::MessageHeader& h, std::uint64_t attempt, const wallet::PublicKey& from,
                              const engine::ForwardMessage& input, const std::vector<Hop>& route,
                              std::size_t received_bytes, int queue, const std::string& ticket) {
  const int k = local_.index;
  const int count = run_.manifest.stages;
  check_route(route);
  local_.enter_attempt(attempt, h.step);
  local_.take_micro_batch(h.micro_batch, run_.manifest.train.micro_batches);
  ForwardJob job;
  job.h = h;
  job.attempt = attempt;
  job.from = from;
  job.queue = queue;
  job.t0 = Clock::now();
  job.result = forward(input);  // rejects bad shapes, codecs, non-finite values
  local_.evidence.record_forward(h.step, h.micro_batch, input);
  if (k > 0) job.received = forward_digest_of(input.activations, input.tokens);
  job.t_forward = job.t_down = job.t_check = job.t_back = Clock::now();
  auto& metrics = job.result.metrics;
  job.chain_loss = metrics.count("loss") ? metrics["loss"] : 0.0;
  auto& work = local_.attempt.work;
  work.micro_batches += 1;
  work.tokens += metrics["tokens"];
  work.flops += metrics["flops"];
  work.device_seconds += metrics["device_seconds"];
  work.bytes_received += static_cast<std::int64_t>(received_bytes);
  if (k == count - 1) {
    job.back = backward(job, {});
    return job;
  }
  job.next = route.front();
  job.down = run_.header(net::MessageKind::Forward, h.step, h.micro_batch, k + 1);
  for (auto d : job.result.output.activations.shape) job.down.shape.push_back(static_cast<std::uint64_t>(d));
  net::ForwardRequest down;
  down.attempt = attempt;
  down.from = run_.self();
  down.queue = queue;
  down.ticket = ticket;
  down.input.batch = input.batch;
  down.input.sequence = input.sequence;
  down.input.route.assign(route.begin() + 1, route.end());
  if (run_.options.tamper.garbage_activations) {
    const auto shape = job.result.output.activations.shape;
    job.result.output.activations = made_up_payload(run_.codec, shape, true);
  }
  job.sent_activation_bytes = job.result.output.activations.bytes.size();
  job.sent = forward_digest_of(job.result.output.activations, input.tokens);
  down.input.activations = std::move(job.result.output.activations.bytes);  // only their size is needed here after
  down.input.tokens = input.tokens;
  job.down_message = std::move(down).encode();
  return job;
}

void ForwardWork::check_receipt(const std::optional<std::string>& receipt, const Hop& receiver,
                                const net::MessageHeader& about, protocol::Direction direction, int sender_stage,
                                const protocol::PayloadDigest& payload_digest) {
  const auto raw = wallet::from_hex(receipt.value_or(std::string()));
  const auto decoded = raw ? protocol::SignedReceipt::decode(*raw) : std::nullopt;
  if (!decoded) throw PeerFailure(receiver.key, "peer " + short_key(receiver.key) + " sent no valid receipt");
  protocol::ReceiptExpectation expected;
  expected.run_id = run_.manifest.run_id;
  expected.step = about.step;
  expected.micro_batch = about.micro_batch;
  expected.direction = direction;
  expected.sender = run_.self();
  expected.receiver = receiver.key;
  expected.stage = static_cast<std::uint16_t>(sender_stage);
  expected.tokens = run_.tokens_per_micro_batch();
  expected.payload_hash = payload_digest;
  if (const auto wrong = protocol::check_receipt(*decoded, expected))
    throw PeerFailure(receiver.key, "peer " + short_key(receiver.key) + " sent a receipt that does not match: " + *wrong);
  local_.attempt.pending.push_back(*decoded);
}

void ForwardWork::land(ForwardJob& job, const Reply& reply, const Sent& sent) {
  const int k = local_.index;
  const auto& next = *job.next;
  job.t_down = Clock::now();
  if (job.attempt != local_.attempt.active) throw std::invalid_argument("step attempt was abandoned");
  auto& work = local_.attempt.work;
  work.bytes_sent += static_cast<std::int64_t>(sent.bytes);
  work.bytes_received += static_cast<std::int64_t>(reply.envelope.blob.size());
  net::BackwardReply answer;
  try {
    answer = net::BackwardReply::decode(reply.envelope);
  } catch (const std::exception& error) {
    throw PeerFailure(next.key, "peer " + short_key(next.key) + " answered a forward wrongly: " + error.what());
  }
  check_receipt(answer.receipt, next, job.down, protocol::Direction::Forward, k, job.sent);
  if (answer.receipts.size() > static_cast<std::size_t>(run_.manifest.stages))
    throw PeerFailure(next.key, "peer " + short_key(next.key) + " relayed malformed receipts");
  job.receipts = std::move(answer.receipts);
  job.chain_loss = answer.loss;
  job.forward_bytes = answer.forward_bytes + static_cast<double>(job.sent_activation_bytes);
  model::Payload gradient{run_.codec, job.result.output.activations.shape, std::move(answer.gradient)};
  job.t_check = Clock::now();
  try {
    job.back = backward(job, gradient);
  } catch (const std::invalid_argument& bad) {
    throw PeerFailure(next.key, std::string("gradient from ") + short_key(next.key) + " rejected: " + bad.what());
  }
  job.t_back = Clock::now();
  // Acknowledge the gradient payload we received. The receipt goes to its sender by way of the
  // driver, which hands each replica its receipts with the step's Reduce: no round trip here.
  const auto digest = backward_digest_of(gradient);
  local_.evidence.record_backward(job.h.step, job.h.micro_batch, std::move(gradient));
  job.receipts.push_back(wallet::to_hex(
      sign(reply.header, protocol::Direction::Backward, next.key, k + 1, digest).encode()));
}

protocol::SignedReceipt ForwardWork::sign(const net::MessageHeader& h, protocol::Direction direction,
                                          const wallet::PublicKey& sender, int sender_stage,
                                          const protocol::PayloadDigest& payload_digest) const {
  protocol::Receipt r;
  r.run_id = run_.manifest.run_id;
  r.step = h.step;
  r.micro_batch = h.micro_batch;
  r.direction = direction;
  r.sender = sender;
  r.receiver = run_.self();
  r.stage = static_cast<std::uint16_t>(sender_stage);
  r.tokens = run_.tokens_per_micro_batch();
  r.payload_hash = payload_digest;
  return protocol::sign_receipt(r, run_.key);
}

net::BackwardReply ForwardWork::reply(ForwardJob& job) {
  const int k = local_.index;
  const auto& h = job.h;
  if (k > 0)  // `from` owes a receipt for our gradient
    local_.attempt.owed_receipts[h.micro_batch] = {job.from, backward_digest_of(job.back.grad_input)};
  const auto us = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
  };
  spdlog::debug("timing forward mb {}: forward {} us, downstream {} us, receipt check {} us, backward {} us, reply {} us",
                h.micro_batch, us(job.t0, job.t_forward), us(job.t_forward, job.t_down), us(job.t_down, job.t_check),
                us(job.t_check, job.t_back), us(job.t_back, Clock::now()));
  auto& work = local_.attempt.work;
  work.flops += job.back.metrics["flops"];
  work.device_seconds += job.back.metrics["device_seconds"];
  net::BackwardReply out;
  out.attempt = job.attempt;
  out.loss = job.chain_loss;
  out.forward_bytes = job.forward_bytes;
  out.receipts = std::move(job.receipts);
  if (k > 0)
    out.receipt = wallet::to_hex(sign(h, protocol::Direction::Forward, job.from, k - 1, job.received).encode());
  out.gradient = std::move(job.back.grad_input.bytes);
  return out;
}

Out ForwardWork::reply_out(ForwardJob& job) {
  Out out;
  out.header = run_.header(net::MessageKind::Backward, job.h.step, job.h.micro_batch, local_.index);
  for (auto d : job.back.grad_input.shape) out.header.shape.push_back(static_cast<std::uint64_t>(d));
  out.envelope = reply(job).encode();
  return out;
}

}  // namespace tessera::node::swarm

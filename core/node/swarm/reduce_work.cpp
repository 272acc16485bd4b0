// Gradient sums across a stage's replicas, and the receipts owed for this replica's gradients.
#include "core/node/swarm/reduce_work.h"

#include <cmath>
#include <map>

#include "core/model/power_sgd.h"

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/peer_roles.h"
#include "core/node/swarm/run_context.h"
#include "core/wallet/encoding.h"

namespace tessera::node::swarm {

void ReduceWork::accept_backward_receipts(const std::vector<std::string>& receipts) {
  auto& attempt = local_.attempt;
  std::map<std::uint32_t, protocol::SignedReceipt> got;
  for (const auto& item : receipts) {
    const auto raw = wallet::from_hex(item);
    const auto receipt = raw ? protocol::SignedReceipt::decode(*raw) : std::nullopt;
    if (!receipt) throw std::invalid_argument("malformed receipt");
    const auto& r = receipt->receipt;
    const auto owed = attempt.owed_receipts.find(r.micro_batch);
    if (owed == attempt.owed_receipts.end() || got.count(r.micro_batch))
      throw std::invalid_argument("a receipt for micro-batch " + std::to_string(r.micro_batch) + " this replica is not owed");
    protocol::ReceiptExpectation expected;
    expected.run_id = run_.manifest.run_id;
    expected.step = attempt.step;
    expected.direction = protocol::Direction::Backward;
    expected.sender = run_.self();
    expected.stage = static_cast<std::uint16_t>(local_.index.load());
    expected.receiver = owed->second.receiver;
    expected.tokens = run_.tokens_per_micro_batch();
    expected.payload_hash = owed->second.payload;
    if (const auto wrong = protocol::check_receipt(*receipt, expected))
      throw PeerFailure(owed->second.receiver, "peer " + short_key(owed->second.receiver) +
                                                   " signed a receipt that does not match this node's work: " + *wrong);
    got.emplace(r.micro_batch, *receipt);
  }
  for (const auto& [micro_batch, owed] : attempt.owed_receipts)
    if (!got.count(micro_batch))
      throw PeerFailure(owed.receiver,
                        "no receipt from " + short_key(owed.receiver) + " for micro-batch " + std::to_string(micro_batch));
  for (auto& [micro_batch, receipt] : got) attempt.pending.push_back(std::move(receipt));
  attempt.owed_receipts.clear();
}

// One contributor's part of the replica sum, of exactly `size` floats.
std::vector<float> ReduceWork::part_of(const net::MessageHeader& h, const net::ReduceRequest& request, const Hop& hop,
                                       net::GradFetchRequest fetch, std::size_t size) {
  std::vector<float> part;
  if (hop.key == run_.self()) {
    if (fetch.part == net::GradPart::raw) part = local_.gradient_snapshot();
    else if (fetch.part == net::GradPart::first) part = local_.averaging_first_part();
    else part = second_part_for(fetch.basis);
  } else {
    fetch.attempt = request.attempt;
    fetch.assignment = roles_.assignment();
    auto reply = calls_.request(hop, run_.header(net::MessageKind::GradFetch, h.step, 0, local_.index), fetch.encode(),
                                run_.options.hop_timeout, net::MessageKind::Gradient);
    if (fetch.part != net::GradPart::second)  // the exact sum fetches the whole gradient once
      run_.traffic.count_fp32_equivalent(static_cast<std::uint64_t>(local_.stage->parameter_count()) * 4);
    auto values = fetch.part == net::GradPart::raw ? net::bytes_to_floats(reply.envelope.blob)
                                                   : model::power_sgd::from_bf16_bytes(reply.envelope.blob);
    if (!values) throw PeerFailure(hop.key, "gradient from " + short_key(hop.key) + " is not a vector of its type");
    part = std::move(*values);
  }
  if (part.size() != size) throw PeerFailure(hop.key, "gradient from " + short_key(hop.key) + " has the wrong size");
  for (const float value : part)  // blame the sender, not the replica whose sum it would spoil
    if (!std::isfinite(value)) throw PeerFailure(hop.key, "gradient from " + short_key(hop.key) + " is not finite");
  return part;
}

// The contributors' gradients summed in their order (this replica's own from its snapshot).
std::vector<float> ReduceWork::replica_sum(const net::MessageHeader& h, const net::ReduceRequest& request) {
  const auto size = static_cast<std::size_t>(local_.stage->parameter_count());
  std::vector<float> total;
  for (const auto& hop : request.contributors) {
    auto part = part_of(h, request, hop, {}, size);
    if (total.empty()) total = std::move(part);
    else model::power_sgd::add_into(total, part);
  }
  return total;
}

// Every contributor's first part summed in order, the basis, every second part summed in order:
// the same bytes at every replica of the stage, so the same update (power_sgd.h).
std::vector<float> ReduceWork::low_rank_sum(const net::MessageHeader& h, const net::ReduceRequest& request) {
  const auto& layout = local_.averaging->layout();
  std::vector<float> first;
  for (const auto& hop : request.contributors) {
    auto part = part_of(h, request, hop, {0, {}, net::GradPart::first, {}},
                        static_cast<std::size_t>(layout.p_size() + layout.raw_size()));
    if (first.empty()) first = std::move(part);
    else model::power_sgd::add_into(first, part);
  }
  AveragingRound round;
  round.basis = model::power_sgd::orthonormal_basis(layout, first);
  for (const auto& hop : request.contributors) {
    auto part = part_of(h, request, hop, {0, {}, net::GradPart::second, round.basis}, static_cast<std::size_t>(layout.q_size()));
    if (hop.key == run_.self()) round.own_second = part;
    if (round.q_sum.empty()) round.q_sum = std::move(part);
    else model::power_sgd::add_into(round.q_sum, part);
  }
  const std::vector<float> raw(first.begin() + layout.p_size(), first.end());
  auto update = model::power_sgd::reconstruct(layout, round.basis, round.q_sum, raw);
  local_.attempt.averaging_round = std::move(round);
  return update;
}

Out ReduceWork::reduce(const net::Incoming& in, const net::Envelope& envelope) {
  const auto& h = in.message.header;
  const auto request = net::ReduceRequest::decode(envelope);
  local_.enter_attempt(request.attempt, h.step);
  accept_backward_receipts(request.receipts);
  const auto& contributors = request.contributors;
  // Alone with its gradient: nothing to sum, unless under PowerSGD another replica installs the
  // low-rank sum of it, which this one must then install too.
  const bool alone = contributors.size() == 1 && contributors.front().key == run_.self() &&
                     (!local_.averaging || request.installers <= 1);
  if (alone && local_.attempt.snapshot) {
    // Served to another replica that installs it: install exactly what it got.
    local_.stage->set_gradient_vector(*local_.attempt.snapshot);
  } else if (!alone) {
    const auto total = local_.averaging ? low_rank_sum(h, request) : replica_sum(h, request);
    local_.gradient_snapshot();
    try {
      local_.stage->set_gradient_vector(total);
    } catch (const std::invalid_argument& bad) {
      throw std::invalid_argument(std::string("summed gradient rejected: ") + bad.what());
    }
  }
  // In a subspace run this norm is final for stages > 0 only: stage 0 counts the shared
  // embeddings, whose gradient is summed over all stages afterwards (shared_gradient).
  net::GradNormReply answer{request.attempt, local_.stage->grad_norm_squared(), {}};
  if (request.send_shared) {
    if (local_.stage->shared_embedding_size() == 0) throw std::invalid_argument("this stage holds no shared embeddings");
    // The replica sum's shared part, or under PowerSGD this stage's first part of it.
    answer.shared = local_.shared_averaging ? model::power_sgd::to_bf16_bytes(local_.shared_first_part())
                                            : net::floats_to_bytes(local_.stage->shared_embedding_gradient());
    if (in.peer != run_.curve.public_key) {
      local_.attempt.work.bytes_sent += static_cast<std::int64_t>(answer.shared.size());
      run_.traffic.count_fp32_equivalent(static_cast<std::uint64_t>(local_.stage->shared_embedding_size()) * 4);
    }
  }
  return {run_.header(net::MessageKind::GradNorm, h.step, 0, local_.index), answer.encode()};
}

Out ReduceWork::shared_gradient(const net::Incoming& in, const net::Envelope& envelope) {
  const auto& h = in.message.header;
  const auto attempt = net::AttemptRequest::decode(envelope).attempt;
  if (attempt != local_.attempt.active || h.step != local_.attempt.step)
    throw std::invalid_argument("shared embedding gradient for a step attempt this replica is not in");
  const auto request = net::SharedGradientRequest::decode(envelope);
  if (in.peer != run_.curve.public_key) local_.attempt.work.bytes_received += static_cast<std::int64_t>(envelope.blob.size());
  if (request.part == net::SharedPart::second) return shared_second_part(h, attempt, request.gradient);
  if (request.part != net::SharedPart::second && in.peer != run_.curve.public_key)
    run_.traffic.count_fp32_equivalent(static_cast<std::uint64_t>(local_.stage->shared_embedding_size()) * 4);
  if (request.part == net::SharedPart::low_rank) install_low_rank_shared(request.gradient);
  else local_.stage->set_shared_embedding_gradient(request.gradient);  // checks the length and finiteness
  return {run_.header(net::MessageKind::GradNorm, h.step, 0, local_.index),
          net::GradNormReply{attempt, local_.stage->grad_norm_squared(), {}}.encode()};
}

// This stage's second part of the shared embeddings' round, for the driver's basis.
Out ReduceWork::shared_second_part(const net::MessageHeader& h, std::uint64_t attempt, const std::vector<float>& basis) {
  if (!local_.shared_averaging || !local_.shared_averaging->active())
    throw std::invalid_argument("a shared second part before this stage's first part of the attempt");
  local_.attempt.shared_second = local_.shared_averaging->second_part(basis);  // checks the basis's size
  return {run_.header(net::MessageKind::GradNorm, h.step, 0, local_.index),
          net::GradNormReply{attempt, 0.0, model::power_sgd::to_bf16_bytes(local_.attempt.shared_second)}.encode()};
}

// basis ‖ summed second parts ‖ summed raw values: reconstructed alike on every committer.
void ReduceWork::install_low_rank_shared(const std::vector<float>& values) {
  if (!local_.shared_averaging) throw std::invalid_argument("this stage does not sync shared embeddings with PowerSGD");
  const auto& layout = local_.shared_averaging->layout();
  const auto p = static_cast<std::size_t>(layout.p_size()), q = static_cast<std::size_t>(layout.q_size());
  if (values.size() != p + q + static_cast<std::size_t>(layout.raw_size()))
    throw std::invalid_argument("low-rank shared embedding gradient has the wrong size");
  AveragingRound round;
  round.basis.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(p));
  round.q_sum.assign(values.begin() + static_cast<std::ptrdiff_t>(p), values.begin() + static_cast<std::ptrdiff_t>(p + q));
  const std::vector<float> raw(values.begin() + static_cast<std::ptrdiff_t>(p + q), values.end());
  local_.stage->set_shared_embedding_gradient(model::power_sgd::reconstruct(layout, round.basis, round.q_sum, raw));
  if (local_.shared_averaging->active()) round.own_second = local_.attempt.shared_second;  // this stage's source
  if (round.own_second.size() != round.q_sum.size()) round.own_second.assign(round.q_sum.size(), 0.0f);
  local_.attempt.shared_round = std::move(round);
}

// This replica's second part for `basis`, computed once per basis and attempt (every honest
// reducer sends the same basis; a peer repeating one costs a comparison, not a product).
const std::vector<float>& ReduceWork::second_part_for(const std::vector<float>& basis) {
  if (!local_.averaging || !local_.averaging->active())
    throw std::invalid_argument("a second part before this replica's first part of the attempt");
  auto& served = local_.attempt.served_second;
  if (!served || served->first != basis) served.emplace(basis, local_.averaging->second_part(basis));  // checks the size
  return served->second;
}

Out ReduceWork::grad_fetch(const net::Incoming& in, const net::Envelope& envelope) {
  const auto request = net::GradFetchRequest::decode(envelope);
  if (request.attempt != local_.attempt.active || in.message.header.step != local_.attempt.step)
    throw std::invalid_argument("no gradient for that step attempt here");
  // The snapshot is taken once: not while a micro-batch's backward is still to come.
  if (local_.stage->in_flight() > 0) throw std::invalid_argument("this replica's gradient is not complete yet");
  std::vector<float> part;
  if (request.part == net::GradPart::raw) part = local_.gradient_snapshot();
  else if (request.part == net::GradPart::first) part = local_.averaging_first_part();
  else part = second_part_for(request.basis);
  if (request.part != net::GradPart::second && in.peer != run_.curve.public_key)
    run_.traffic.count_fp32_equivalent(static_cast<std::uint64_t>(local_.stage->parameter_count()) * 4);
  return {run_.header(net::MessageKind::Gradient, in.message.header.step, 0, local_.index),
          {nlohmann::json::object(), request.part == net::GradPart::raw ? net::floats_to_bytes(part)
                                                                        : model::power_sgd::to_bf16_bytes(part)}};
}

}  // namespace tessera::node::swarm

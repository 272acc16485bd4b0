// The driver's pipeline schedule for one step's micro-batches.
#include "core/node/swarm/micro_batch_schedule.h"

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/run_context.h"
#include "core/wallet/encoding.h"

namespace tessera::node::swarm {

MicroBatchSchedule::MicroBatchSchedule(const RunContext& run, LocalStage& local, ForwardWork& forward,
                                       PeerCalls& calls, model::DataSource& data, StepAttempt& attempt)
    : run_(run), local_(local), forward_(forward), data_(data), attempt_(attempt), links_(calls),
      flights_(static_cast<std::size_t>(run.manifest.train.micro_batches)) {
  attempt_.tokens_hashes.assign(flights_.size(), {});
}

void MicroBatchSchedule::launch(int m, bool here) {
  const auto& first_stage = attempt_.replicas.front();
  const auto& first = first_stage[static_cast<std::size_t>(m) % first_stage.size()];
  if ((first.key == run_.self()) != here) return;
  const auto& train = run_.manifest.train;
  auto ids = data_.micro_batch(static_cast<std::int64_t>(attempt_.step), m, train.micro_batches, train.micro_batch_size);
  attempt_.tokens_hashes[static_cast<std::size_t>(m)] = protocol::tokens_digest(ids);  // named by the step record
  flights_[static_cast<std::size_t>(m)].here = here;
  if (here) launch_here(m, std::move(ids));
  else launch_remote(m, first, ids);
}

// Another stage-0 replica runs this micro-batch; its stage server passes it on at once.
void MicroBatchSchedule::launch_remote(int m, const Hop& first, const std::vector<std::int32_t>& ids) {
  auto& flight = flights_[static_cast<std::size_t>(m)];
  net::ForwardRequest request;
  request.attempt = attempt_.id;
  request.from = run_.self();
  request.queue = attempt_.queue;
  request.ticket = attempt_.ticket;
  request.input.batch = run_.manifest.train.micro_batch_size;
  request.input.sequence = run_.manifest.model.context;
  request.input.route = attempt_.route_of(m);
  request.input.tokens = ids;
  flight.link = &links_.open(first);
  flight.request = links_.post(*flight.link, run_.header(net::MessageKind::Forward, attempt_.step, static_cast<std::uint32_t>(m), 0),
                               request.encode(), run_.options.hop_timeout * (run_.manifest.stages + attempt_.queue), flight.sent);
}

// This node's stage 0 runs the forward, then passes it on as soon as it is computed.
void MicroBatchSchedule::launch_here(int m, std::vector<std::int32_t> ids) {
  auto& flight = flights_[static_cast<std::size_t>(m)];
  engine::ForwardMessage input;
  input.micro_batch = m;
  input.batch = run_.manifest.train.micro_batch_size;
  input.sequence = run_.manifest.model.context;
  input.tokens = std::move(ids);
  {
    std::lock_guard lock(local_.mutex);
    flight.job = forward_.begin(run_.header(net::MessageKind::Forward, attempt_.step, static_cast<std::uint32_t>(m), 0),
                                attempt_.id, run_.self(), input, attempt_.route_of(m), 0, attempt_.queue, attempt_.ticket);
    if (!flight.job.next) flight.answered = forward_.reply(flight.job);
  }
  if (flight.answered) return;
  flight.link = &links_.open(*flight.job.next);
  flight.request = links_.post(*flight.link, flight.job.down, flight.job.down_message,
                               run_.options.hop_timeout * (run_.manifest.stages - 1 + attempt_.queue), flight.sent);
}

void MicroBatchSchedule::land(int m) {
  auto& flight = flights_[static_cast<std::size_t>(m)];
  if (flight.answered) {
    absorb(m, *flight.answered);
    return;
  }
  // From now: the micro-batch ahead of this one has just come back (or, for the first, the
  // last one was just sent), so the stages have owed this one for at most that long.
  const int hops = (flight.here ? run_.manifest.stages - 1 : run_.manifest.stages) + attempt_.queue;
  const auto deadline = Clock::now() + run_.options.hop_timeout * hops;
  const auto reply = links_.await(*flight.link, flight.request, deadline, net::MessageKind::Backward);
  if (!flight.here) {
    net::BackwardReply answer;
    try {
      answer = net::BackwardReply::decode(reply.envelope);
    } catch (const std::exception& error) {
      throw PeerFailure(flight.link->hop.key, "peer " + short_key(flight.link->hop.key) +
                                                  " answered micro-batch " + std::to_string(m) + " wrongly: " + error.what());
    }
    absorb(m, answer);
    return;
  }
  net::BackwardReply answer;
  {
    std::lock_guard lock(local_.mutex);
    forward_.land(flight.job, reply, flight.sent);
    answer = forward_.reply(flight.job);
  }
  absorb(m, answer);
}

void MicroBatchSchedule::absorb(int m, const net::BackwardReply& answer) {
  attempt_.loss_sum += answer.loss;
  attempt_.forward_bytes += answer.forward_bytes;
  attempt_.tokens += static_cast<double>(run_.manifest.train.micro_batch_size) * run_.manifest.model.context;
  const auto& r1 = attempt_.replicas[attempt_.replicas.size() > 1 ? 1 : 0];
  const auto& first_hop = r1[static_cast<std::size_t>(m) % r1.size()].key;
  if (answer.receipts.size() > static_cast<std::size_t>(run_.manifest.stages))  // one per boundary at most
    throw PeerFailure(first_hop, "too many receipts on micro-batch " + std::to_string(m));
  for (const auto& item : answer.receipts) {
    const auto raw = wallet::from_hex(item);
    const auto receipt = raw ? protocol::SignedReceipt::decode(*raw) : std::nullopt;
    if (!receipt) throw PeerFailure(first_hop, "malformed receipt on micro-batch " + std::to_string(m));
    attempt_.receipts_for[receipt->receipt.sender].push_back(item);
  }
}

void MicroBatchSchedule::run() {
  const int count = run_.manifest.train.micro_batches;
  try {
    for (const bool here : {false, true})
      for (int m = 0; m < count; ++m) launch(m, here);
    for (int m = 0; m < count; ++m) land(m);
  } catch (const PeerFailure&) {
    throw;  // the links go with their late replies
  } catch (const std::exception& error) {  // this stage refused its own work: the attempt fails
    throw PeerFailure(run_.self(), error.what());
  }
  links_.release_all();  // only when all answered
}

}  // namespace tessera::node::swarm

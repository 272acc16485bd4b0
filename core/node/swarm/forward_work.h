// One training micro-batch on this stage, split where it waits for the next stage: begin()
// (forward, and on the last stage the backward too), the downstream request (by whoever runs the
// job), land() (receipt checks and the backward), reply(). The stage server runs them for a
// Forward it passes on (or in a row on the last stage); the step driver runs them for its own
// stage-0 micro-batches. Every function here is called with the LocalStage mutex held.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/engine/stage.h"
#include "core/net/endpoint.h"
#include "core/node/swarm/peer_calls.h"
#include "core/protocol/payload_digest.h"
#include "core/protocol/receipt.h"

namespace tessera::node::swarm {

struct LocalStage;
struct RunContext;

// An answer on its way out: the header and the envelope (its request id is added when sent).
struct Out {
  net::MessageHeader header;
  net::Envelope envelope;
};

struct ForwardJob {
  net::MessageHeader h;
  std::uint64_t attempt = 0;
  wallet::PublicKey from{};
  engine::ForwardResult result;
  double chain_loss = 0, forward_bytes = 0;
  engine::BackwardResult back;
  std::vector<std::string> receipts;  // Backward receipts signed on this route, for the driver
  std::optional<Hop> next;            // empty on the last stage
  int queue = 0;                      // micro-batches that may be ahead of this one at a later stage
  std::size_t sent_activation_bytes = 0;  // this stage's boundary payload, moved into down_message
  protocol::PayloadDigest received{};     // content digest of the Forward received (what our receipt signs)
  protocol::PayloadDigest sent{};         // … of the Forward passed on (what the next stage's receipt must sign)
  net::MessageHeader down;            // the Forward to the next stage
  net::Envelope down_message;
  Clock::time_point t0, t_forward, t_down, t_check, t_back;
};

class ForwardWork {
 public:
  ForwardWork(const RunContext& run, LocalStage& local) : run_(run), local_(local) {}

  // A Forward request from a peer whose sender, route and step ticket the Authoriser admitted,
  // checked (stage, input, route, codec, queue) and begun.
  ForwardJob begin_request(const net::Incoming& in, const net::Envelope& envelope);
  // A micro-batch with its input, from `from` (this node itself for the driver's own micro-batches),
  // under the driver's step ticket (hex), which goes on with it to the next stage.
  ForwardJob begin(const net::MessageHeader& h, std::uint64_t attempt, const wallet::PublicKey& from,
                   const engine::ForwardMessage& input, const std::vector<Hop>& route, std::size_t received_bytes,
                   int queue, const std::string& ticket);
  // The next stage's Backward answer to job.down: its receipt, the receipts it relays, the backward.
  void land(ForwardJob& job, const Reply& reply, const Sent& sent);
  // This stage's Backward answer: the gradient of its input, its receipt for the Forward payload.
  net::BackwardReply reply(ForwardJob& job);
  Out reply_out(ForwardJob& job);

  // A receipt the receiver of our payload must have signed, over the content digest of what we
  // sent (protocol/payload_digest.h): anything else fails the attempt.
  void check_receipt(const std::optional<std::string>& receipt, const Hop& receiver, const net::MessageHeader& about,
                     protocol::Direction direction, int sender_stage, const protocol::PayloadDigest& payload_digest);
  // How long the stages after this one may take to answer a micro-batch with `queue` ahead of it.
  net::Timeout downstream_timeout(int queue) const;
  // The Stage's input from a Forward's or Infer's: stage 0 takes token ids only, the others the
  // boundary payload in the run's codec and the header's shape.
  engine::ForwardMessage input_of(const net::MessageHeader& h, net::StageInput input, std::int64_t micro_batch) const;
  // Throws std::invalid_argument unless `route` names the stages after this one, none of them this
  // node (a request to itself from a handler would wait on the mutex the handler holds).
  void check_route(const std::vector<Hop>& route) const;

 private:
  // The Stage's forward and backward, or what a cheating node does instead (SwarmNodeOptions::tamper).
  engine::ForwardResult forward(const engine::ForwardMessage& input);
  engine::BackwardResult backward(const ForwardJob& job, const model::Payload& gradient);
  protocol::SignedReceipt sign(const net::MessageHeader& h, protocol::Direction direction,
                               const wallet::PublicKey& sender, int sender_stage,
                               const protocol::PayloadDigest& payload_digest) const;

  const RunContext& run_;
  LocalStage& local_;
};

}  // namespace tessera::node::swarm

// Forward-only inference through the swarm, for the hub's gateway: token ids go to a live
// replica of stage 0, every stage runs its blocks without gradients, stash or receipts, and the
// last stage's logits for the last position come back. Each call has a deadline; a missing stage
// or a peer that drops out is a clear exception (the gateway answers 503).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <memory>
#include <stdexcept>
#include <vector>

#include "core/hub/gateway.h"
#include "core/hub/peer_directory.h"
#include "core/protocol/manifest.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

// The swarm cannot answer now (a stage without replicas, a peer that did not answer in time).
struct SwarmUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class SwarmInference : public NextTokenSource {
 public:
  // `hub_key` is the manifest's hub key: the nodes admit it on their CurveZMQ sockets.
  SwarmInference(const PeerDirectory& directory, protocol::RunManifest manifest, const wallet::KeyPair& hub_key);
  ~SwarmInference();
  SwarmInference(const SwarmInference&) = delete;
  SwarmInference& operator=(const SwarmInference&) = delete;

  // Logits over the vocabulary for the token after `tokens` (the last `context` of them are used).
  // Throws std::invalid_argument for an empty prompt or ids outside the vocabulary, and
  // SwarmUnavailable when a stage is missing or a peer does not answer within `timeout`.
  std::vector<float> next_token_logits(const std::vector<std::int32_t>& tokens, std::chrono::milliseconds timeout) override;
  // One round of the gateway's continuous batching: each sequence keeps the route its KV caches
  // are on and sends only its new positions; the sequences on one route go as one Infer. A sequence
  // a stage lost is sent again from position 0 (once); one whose route broke starts over on a live
  // route at its next token. Errors are per sequence.
  std::vector<NextLogits> next_logits(const std::vector<SequenceWindow>& round, std::chrono::milliseconds timeout) override;
  void end_sequence(std::uint64_t session) override;

  // Inference work is credited like training work: every node on the route of an answered round
  // earns the forward FLOPs of the positions it computed, handed to `credit` per owner every few
  // seconds (and when this is destroyed). The answer coming back along the route is its receipt.
  using WorkCredit = std::function<void(const std::string& owner, double flops)>;
  void credit_work_to(WorkCredit credit);

  struct Stats {
    std::uint64_t infers = 0;     // batched Infers sent (one per route per round)
    std::uint64_t positions = 0;  // positions they asked the stages to compute
    std::uint64_t resent = 0;     // sequences sent again from position 0 because a stage lost them
    std::uint64_t failed = 0;     // sequences answered with an error
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::hub

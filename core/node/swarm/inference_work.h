// What this node does with an Infer (docs/swarm.md "Inference"): the hub's forward-only requests,
// passed from stage to stage along the route its ticket names, the last stage's logits carried
// back. A batched Infer (with sequences) runs one decode step on the stage's KV-cache sessions
// for every sequence at once (engine::Stage::decode); a sequence this stage no longer holds is
// passed on without activations and reported missing, so the hub opens it again from position 0
// instead of failing the request. An Infer without sequences computes whole windows, no cache.
#pragma once

#include "core/net/swarm_messages.h"
#include "core/node/swarm/forward_work.h"
#include "core/node/swarm/peer_calls.h"

namespace tessera::node::swarm {

class InferenceWork {
 public:
  InferenceWork(const RunContext& run, LocalStage& local, PeerCalls& calls, ForwardWork& forward)
      : run_(run), local_(local), calls_(calls), forward_(forward) {}

  // LocalStage mutex held (the Stage is used between training's micro-batches, never during one:
  // inference runs without gradients, stash or the stage's RNG, so training is unchanged).
  Out serve(const net::Incoming& in, const net::Envelope& envelope);

 private:
  Out whole_windows(const net::MessageHeader& h, net::InferRequest request);
  Out sequences(const net::MessageHeader& h, net::InferRequest request);
  // The stage's decode step on the sequences it can compute; `missing` marks the others.
  std::vector<engine::DecodeOutcome> decode(const net::InferRequest& request, std::vector<bool>& missing) const;
  // The Infer to the next stage: the same tokens and ticket, this stage's activations.
  net::InferRequest onward(net::InferRequest request, const std::vector<engine::DecodeOutcome>& outcomes,
                           const std::vector<bool>& missing) const;
  // Boundary values per token this stage receives (its input's last dimension).
  std::int64_t boundary_values() const;

  const RunContext& run_;
  LocalStage& local_;
  PeerCalls& calls_;
  ForwardWork& forward_;
};

}  // namespace tessera::node::swarm

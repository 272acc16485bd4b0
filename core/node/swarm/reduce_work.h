// After a step's micro-batches: the replicas of this stage sum their gradients (Reduce, GradFetch),
// take the Backward receipts they are owed, and in subspace runs install the shared embeddings'
// gradient summed over all stages (SharedGradient). Called with the LocalStage mutex held.
#pragma once

#include "core/node/swarm/forward_work.h"

namespace tessera::node::swarm {

class PeerRoles;

class ReduceWork {
 public:
  // `roles` gives this node's stage assignment, which its GradFetch requests present.
  ReduceWork(const RunContext& run, LocalStage& local, PeerCalls& calls, const PeerRoles& roles)
      : run_(run), local_(local), calls_(calls), roles_(roles) {}

  Out reduce(const net::Incoming& in, const net::Envelope& envelope);
  Out shared_gradient(const net::Incoming& in, const net::Envelope& envelope);
  Out grad_fetch(const net::Incoming& in, const net::Envelope& envelope);

 private:
  // The Backward receipts this replica is owed for the gradients it sent this attempt, delivered
  // by the driver with Reduce: exactly one per micro-batch, signed by the node the gradient went
  // to. A missing or wrong one fails the attempt (blaming that node), so no receipt is lost.
  void accept_backward_receipts(const std::vector<std::string>& receipts);
  Out shared_second_part(const net::MessageHeader& h, std::uint64_t attempt, const std::vector<float>& basis);
  void install_low_rank_shared(const std::vector<float>& values);
  const std::vector<float>& second_part_for(const std::vector<float>& basis);
  std::vector<float> replica_sum(const net::MessageHeader& h, const net::ReduceRequest& request);
  // Under PowerSGD: the round's update from every contributor's two parts (power_sgd.h).
  std::vector<float> low_rank_sum(const net::MessageHeader& h, const net::ReduceRequest& request);
  // One contributor's part: this replica's own, or fetched (GradFetch) and checked for its size.
  std::vector<float> part_of(const net::MessageHeader& h, const net::ReduceRequest& request, const Hop& hop,
                             net::GradFetchRequest fetch, std::size_t size);

  const RunContext& run_;
  LocalStage& local_;
  PeerCalls& calls_;
  const PeerRoles& roles_;
};

}  // namespace tessera::node::swarm

// The driver's reduce phase: the replicas of each stage sum their gradients and answer their
// stage's squared norm (stages at the same time, the replicas of one stage one after another, so
// two of them never wait on each other's GradFetch; the answers are taken in stage order). Every
// ready replica at this step takes part, including ones that became ready during the step; those
// that ran no micro-batch only install the sum. In subspace runs every stage holds the token and
// position embeddings, whose gradient is the sum of every stage's part: the first replica of each
// stage sends its part with its norm, the driver sums the parts in stage order (as the in-process
// Pipeline does) and every committer installs the sum. Under PowerSGD averaging the sources send
// low-rank parts instead (core/model/power_sgd.h): their first parts with the norm, their second
// parts for the driver's basis in one more round trip, and every committer reconstructs the same
// sum from the basis and the summed second parts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/client/hub_client.h"
#include "core/model/power_sgd.h"
#include "core/node/swarm/peer_calls.h"
#include "core/node/swarm/step_attempt.h"

namespace tessera::node::swarm {

struct RunContext;

class ReduceRound {
 public:
  // `suspect` leaves out whoever a failure proves failed (StepDriver::blame); `ready_now` is the
  // hub's current peer list.
  using Suspect = std::function<void(const PeerFailure&)>;
  using IsSuspected = std::function<bool(const wallet::PublicKey&)>;

  ReduceRound(const RunContext& run, PeerCalls& calls, StepAttempt& attempt, std::int64_t shared_size,
              Suspect suspect, IsSuspected suspected);

  // Fills attempt.norms and attempt.committers; throws PeerFailure when a stage's sum failed.
  void reduce(const std::vector<protocol::PeerInfo>& ready_now);
  // Subspace runs: installs the summed shared gradient on every committer; stage norms updated.
  void share_embeddings();

 private:
  struct StageResult {
    double norm = 0;
    std::optional<std::vector<float>> shared;  // the stage's part of the shared embeddings' gradient
    bool shared_remote = false;
    std::optional<net::Hop> shared_source;
    std::vector<net::Hop> committers;
  };
  std::vector<net::Hop> targets_of(int stage, const std::vector<protocol::PeerInfo>& ready_now) const;
  StageResult reduce_stage(int stage, const std::vector<net::Hop>& contributors, const std::vector<net::Hop>& targets);
  // What the sources send with their norms: the whole shared gradient, or a first part.
  std::size_t shared_part_size() const;
  // PowerSGD: basis ‖ the sources' second parts summed in stage order ‖ the raw values.
  std::vector<float> low_rank_shared_sum();

  const RunContext& run_;
  PeerCalls& calls_;
  StepAttempt& attempt_;
  std::int64_t shared_size_;
  Suspect suspect_;
  IsSuspected suspected_;
  std::vector<float> shared_sum_;
  std::optional<model::GradientLayout> shared_layout_;  // PowerSGD in a subspace run
  std::vector<std::optional<net::Hop>> shared_sources_;  // per stage, who sent its part
};

}  // namespace tessera::node::swarm

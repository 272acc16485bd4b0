// A stage left behind the run. A driver asks this stage for a step after its own when the stage
// missed commits: it joined late, or the commit did not reach it. It takes the state from a
// replica that is ahead when its stage has one (StateTransfer). When every replica of the stage
// is as far behind (the ones that trained those steps left, or the whole stage missed a commit),
// no state of that step exists anywhere, and the stage skips to the asked step with its weights
// as they are: those steps' updates are lost for this stage, and the run goes on instead of
// waiting forever. Skips are bounded (kMaxSkip steps) and rare (one per kSkipInterval), so a
// driver or peer that claims a far later step cannot use up the run's steps.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/protocol/hub_api.h"

namespace tessera::node::swarm {

struct LocalStage;
class StateTransfer;
class StatusBoard;

class CatchUp {
 public:
  static constexpr std::uint64_t kMaxSkip = 256;
  static constexpr std::chrono::minutes kSkipInterval{5};

  CatchUp(LocalStage& local, StateTransfer& state, StatusBoard& board) : local_(local), state_(state), board_(board) {}

  // The training loop's turn when LocalStage::need_resync is set: takes the state from a replica
  // ahead, else skips to the step the driver asked for. False when nothing moved this turn
  // (the caller waits a little and the driver's next request asks again).
  bool once(const std::vector<protocol::PeerInfo>& peers, const std::atomic<bool>& stop);

 private:
  bool skip(std::uint64_t to);

  LocalStage& local_;
  StateTransfer& state_;
  StatusBoard& board_;
  std::optional<std::chrono::steady_clock::time_point> last_skip_;
};

}  // namespace tessera::node::swarm

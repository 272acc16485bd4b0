// Catching up with the run: state from a replica ahead, else a bounded skip.
#include "core/node/swarm/catch_up.h"

#include <mutex>

#include <spdlog/spdlog.h>

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/state_transfer.h"
#include "core/node/swarm/status_board.h"

namespace tessera::node::swarm {

bool CatchUp::once(const std::vector<protocol::PeerInfo>& peers, const std::atomic<bool>& stop) {
  const auto asked = local_.asked_step.exchange(0);
  switch (state_.fetch(peers, stop, true)) {
    case StateTransfer::Fetch::Loaded: return true;
    case StateTransfer::Fetch::Failed: return false;
    case StateTransfer::Fetch::NoneAhead: return asked != 0 && skip(asked);
  }
  return false;
}

bool CatchUp::skip(std::uint64_t to) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(local_.mutex);
  const auto mine = static_cast<std::uint64_t>(local_.stage->step_count());
  if (to <= mine) return false;
  const int index = local_.index;
  if (to - mine > kMaxSkip) {
    spdlog::warn("stage {} is at step {} and was asked for step {}: more than {} steps behind, and no replica has them; "
                 "not skipping",
                 index, mine, to, kMaxSkip);
    return false;
  }
  if (last_skip_ && now - *last_skip_ < kSkipInterval) return false;  // said when it skipped
  last_skip_ = now;
  local_.discard_attempt();
  local_.stage->skip_to(static_cast<std::int64_t>(to));
  local_.reset_averaging();
  local_.keep_starting_weights();
  board_.set_step(static_cast<std::int64_t>(to));
  spdlog::warn("stage {} skipped from step {} to step {}: the run committed those steps and no replica of this stage "
               "has them (the ones that trained them left); their updates are lost for this stage, and it skips "
               "again at most once in {} minutes",
               index, mine, to, kSkipInterval.count());
  return true;
}

}  // namespace tessera::node::swarm

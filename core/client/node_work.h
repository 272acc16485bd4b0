// What a hub says one node's work came to, per epoch (GET /api/work?node=<hex>, core/hub/node_tally.h):
// credited receipts and FLOPs, receipts rejected by reason, spot checks passed and failed,
// verification FLOPs, FLOPs forfeited on exclusion. These are the hub's counts, unsigned: the node
// shows them as "the hub's count so far", never as verified (verified figures come only from a
// signed statement). The same JSON form travels in the node's status (core/control/node_status.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::client {

// Limits on what is read: more than this is refused as malformed.
inline constexpr std::size_t kMaxWorkEpochs = 64;
inline constexpr std::size_t kMaxWorkCounters = 64;       // per epoch
inline constexpr std::size_t kMaxWorkNameBytes = 100;     // a counter's name, an owner address
inline constexpr std::size_t kMaxWorkReplyBytes = 256 * 1024;

struct EpochWork {
  std::uint64_t epoch = 0;
  std::string owner;
  std::uint64_t credited_receipts = 0;
  double credited_flops = 0;
  std::map<std::string, std::uint64_t> rejected;  // by reason code ("tokens", "not-committed", …)
  std::uint64_t checks_passed = 0;
  std::uint64_t checks_failed = 0;
  double verification_flops = 0;
  double forfeited_flops = 0;

  std::uint64_t rejected_total() const;
  bool operator==(const EpochWork&) const = default;
};

// Newest epoch first, as the hub sends them.
using NodeWork = std::vector<EpochWork>;

// {"epoch", "owner", "counters": {"credited_receipts", "credited_flops", "rejected:<code>", …}}:
// the hub's form. Counters this build does not know are skipped.
nlohmann::json to_json(const EpochWork& work);
nlohmann::json to_json(const NodeWork& work);  // an array
// Throws std::invalid_argument naming what is wrong: not an object, a count that is not a
// non-negative whole number, FLOPs that are negative or not finite, more than the limits above.
EpochWork epoch_work_from_json(const nlohmann::json& json);
NodeWork node_work_from_json(const nlohmann::json& epochs);  // an array of the above

// One line for the node's log, e.g. "epoch 3 so far (hub's count): credited 412 receipts,
// 1,234 MFLOP; rejected 2 (tokens: 2); spot checks 3 passed, 0 failed; verification 20 MFLOP".
std::string describe(const EpochWork& work);

}  // namespace tessera::client

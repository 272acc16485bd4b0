// A node's evidence for spot checks (core/protocol/spot_check.h): its stage's parameters at the
// start of each step (one copy per step, whatever the attempts), and for each micro-batch of a
// committed step what it received: the Forward (activations and token ids; token ids only on
// stage 0) and the Backward gradient. Kept for the last committed steps, bounded by count and
// bytes, oldest dropped first; an attempt's inputs are kept only once it commits. Its own mutex:
// the stage's handlers record (under the LocalStage mutex), the hub thread takes the weights to
// report, the CheckFetch handler reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/engine/stage.h"
#include "core/net/check_evidence.h"
#include "core/protocol/payload_digest.h"

namespace tessera::node::swarm {

// A committed step's evidence is kept while it is among the last `steps` committed OR was
// committed less than `keep` ago, and only while all of it fits in `bytes`. The hub counts a
// check the worker could not answer as a failure only when it came within 15 s of the step's
// commit (core/hub/check_verdicts.cpp), so `keep` must stay above that.
struct EvidenceLimits {
  std::size_t steps = 16;                          // committed steps kept at least
  std::chrono::milliseconds keep{20'000};          // and every step committed this recently
  std::size_t bytes = 1024ull << 20;               // parameters and inputs kept, all steps together
};

// The weights digest a node reports for the start of `step` (POST /api/weights).
struct WeightsReport {
  std::uint64_t step = 0;
  protocol::PayloadDigest digest{};
};

class EvidenceStore {
 public:
  static constexpr std::size_t kReportQueue = 64;  // weights waiting for the hub thread, oldest out

  explicit EvidenceStore(EvidenceLimits limits = {}) : limits_(limits) {}

  // Forgets everything (the node moved to another stage).
  void clear();
  bool has_weights(std::uint64_t step) const;
  // The parameters at the start of `step`, replacing any kept for it, and queued to be reported.
  void keep_weights(std::uint64_t step, std::vector<float> parameters);
  // What this node received for a micro-batch of the attempt in progress at `step` (a newer step
  // than the pending inputs' drops them).
  void record_forward(std::uint64_t step, std::uint32_t micro_batch, const engine::ForwardMessage& input);
  void record_backward(std::uint64_t step, std::uint32_t micro_batch, model::Payload gradient);
  // The attempt in progress was abandoned: its inputs go.
  void drop_attempt();
  // The attempt in progress at `step` committed: its inputs are kept with the step's weights.
  void commit(std::uint64_t step);

  // The evidence for a slot of a committed step this node still holds (stage: this node's).
  std::optional<net::CheckEvidence> find(std::uint64_t step, std::uint32_t micro_batch, std::uint16_t stage) const;
  // The weights kept since the last call, oldest first, with their digests (computed here, on the
  // caller's thread, outside the lock).
  std::vector<WeightsReport> take_weight_reports();

  std::size_t bytes() const;
  std::size_t committed_steps() const;

 private:
  struct Slot {
    std::optional<engine::ForwardMessage> forward;
    std::optional<model::Payload> backward;
  };
  struct Entry {
    std::shared_ptr<const std::vector<float>> weights;
    std::map<std::uint32_t, Slot> slots;
    bool committed = false;
    std::chrono::steady_clock::time_point committed_at{};
  };

  static std::size_t bytes_of(const Slot& slot);
  static std::size_t bytes_of(const Entry& entry);
  void evict();  // lock held

  EvidenceLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Entry> entries_;     // by step
  std::optional<std::uint64_t> pending_step_;  // the attempt in progress
  std::map<std::uint32_t, Slot> pending_;
  std::size_t bytes_ = 0;                      // of entries_
  std::deque<std::pair<std::uint64_t, std::shared_ptr<const std::vector<float>>>> reports_;
};

}  // namespace tessera::node::swarm

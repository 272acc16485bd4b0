// The stage's KV cache for inference sessions: per session the keys and values of every block this
// stage holds, kept within a byte budget (least recently used sessions are evicted first) and
// dropped after an idle time. Only the storage lives here; the decode math is in
// BlockImpl::forward_cached (core/backend/gpt_modules.h) and Stage::decode. Internal to the
// engine's torch translation units, like core/backend/gpt_modules.h.
#pragma once

#ifndef TORCH_VERSION_MAJOR
#error "core/backend/inference_cache.h is for the engine's torch translation units: include core/backend/torch_pch.h first"
#endif

#include <chrono>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "core/backend/gpt_modules.h"
#include "core/engine/stage_types.h"

namespace tessera::engine {

// One sequence's cached attention state on this stage.
struct CachedSequence {
  std::vector<torch::Tensor> keys, values;  // per block of the stage: [heads, length, head_dim]; undefined when empty
  std::int64_t length = 0;                  // positions cached

  std::int64_t bytes() const;
};

// Runs the stage's blocks over x [m, n, d], the n new positions of the m `sequences`, extending
// each sequence's keys and values (and length) in place.
torch::Tensor run_blocks_cached(StageModuleImpl& module, torch::Tensor x, std::vector<CachedSequence>& sequences,
                                const torch::Tensor& causal_mask);

class InferenceCache {
 public:
  using Clock = std::chrono::steady_clock;

  InferenceCache(std::int64_t byte_limit, std::chrono::seconds ttl);

  // Drops the sessions idle for longer than the ttl (counted as expired).
  void expire(Clock::time_point now);
  // The session when it holds exactly `length` positions, nullptr otherwise. Copy it before the
  // next store(): the copy shares the tensors, which are replaced on extension, never written.
  const CachedSequence* find(std::uint64_t session, std::int64_t length) const;
  // Stores the session (replacing what it held) as used at `now`, first evicting the least recently
  // used other sessions until it fits the budget. A sequence larger than the whole budget is not
  // kept and evicts nobody (its caller finds it missing next time and re-sends it: slow, but
  // correct); it counts as one eviction.
  void store(std::uint64_t session, CachedSequence sequence, Clock::time_point now);
  void drop(std::uint64_t session);
  void clear();
  InferenceCacheStats stats() const;

 private:
  struct Entry {
    CachedSequence sequence;
    std::int64_t bytes = 0;
    Clock::time_point last_used;
    std::list<std::uint64_t>::iterator recency;  // position in recency_
  };

  void erase(std::unordered_map<std::uint64_t, Entry>::iterator found);

  std::int64_t byte_limit_;
  std::chrono::seconds ttl_;
  std::unordered_map<std::uint64_t, Entry> sessions_;
  std::list<std::uint64_t> recency_;  // least recently used first
  std::int64_t bytes_ = 0;
  std::int64_t evictions_ = 0;
  std::int64_t expired_ = 0;
};

}  // namespace tessera::engine

// The KV cache of a stage's inference sessions: byte accounting, LRU eviction, idle expiry.
#include "core/backend/torch_pch.h"

#include "core/backend/inference_cache.h"

#include <utility>

namespace tessera::engine {

std::int64_t CachedSequence::bytes() const {
  std::int64_t total = 0;
  for (const auto* tensors : {&keys, &values})
    for (const auto& t : *tensors)
      if (t.defined()) total += t.numel() * static_cast<std::int64_t>(t.element_size());
  return total;
}

torch::Tensor run_blocks_cached(StageModuleImpl& module, torch::Tensor x, std::vector<CachedSequence>& sequences,
                                const torch::Tensor& causal_mask) {
  const auto blocks = module.blocks.size();
  std::vector<torch::Tensor> keys(sequences.size()), values(sequences.size());
  for (auto& sequence : sequences) {
    sequence.keys.resize(blocks);
    sequence.values.resize(blocks);
  }
  for (std::size_t b = 0; b < blocks; ++b) {
    for (std::size_t i = 0; i < sequences.size(); ++i) {
      keys[i] = sequences[i].keys[b];
      values[i] = sequences[i].values[b];
    }
    x = module.blocks[b]->forward_cached(x, keys, values, causal_mask);
    for (std::size_t i = 0; i < sequences.size(); ++i) {
      sequences[i].keys[b] = keys[i];
      sequences[i].values[b] = values[i];
    }
  }
  for (auto& sequence : sequences) sequence.length += x.size(1);
  return x;
}

InferenceCache::InferenceCache(std::int64_t byte_limit, std::chrono::seconds ttl)
    : byte_limit_(byte_limit), ttl_(ttl) {}

void InferenceCache::expire(Clock::time_point now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const auto next = std::next(it);
    if (now - it->second.last_used > ttl_) {
      erase(it);
      ++expired_;
    }
    it = next;
  }
}

const CachedSequence* InferenceCache::find(std::uint64_t session, std::int64_t length) const {
  const auto found = sessions_.find(session);
  if (found == sessions_.end() || found->second.sequence.length != length) return nullptr;
  return &found->second.sequence;
}

void InferenceCache::store(std::uint64_t session, CachedSequence sequence, Clock::time_point now) {
  drop(session);
  const auto bytes = sequence.bytes();
  if (bytes > byte_limit_) {
    ++evictions_;  // it would not fit even alone: evicted at once, and nobody else for nothing
    return;
  }
  while (bytes_ + bytes > byte_limit_) {
    erase(sessions_.find(recency_.front()));
    ++evictions_;
  }
  recency_.push_back(session);
  sessions_.emplace(session, Entry{std::move(sequence), bytes, now, std::prev(recency_.end())});
  bytes_ += bytes;
}

void InferenceCache::drop(std::uint64_t session) {
  const auto found = sessions_.find(session);
  if (found != sessions_.end()) erase(found);
}

void InferenceCache::clear() {
  sessions_.clear();
  recency_.clear();
  bytes_ = 0;
}

InferenceCacheStats InferenceCache::stats() const {
  return {static_cast<std::int64_t>(sessions_.size()), bytes_, evictions_, expired_};
}

void InferenceCache::erase(std::unordered_map<std::uint64_t, Entry>::iterator found) {
  bytes_ -= found->second.bytes;
  recency_.erase(found->second.recency);
  sessions_.erase(found);
}

}  // namespace tessera::engine

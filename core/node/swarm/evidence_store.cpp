// Spot-check evidence: kept per step, committed or dropped with its attempt, evicted oldest first.
#include "core/node/swarm/evidence_store.h"

namespace tessera::node::swarm {

std::size_t EvidenceStore::bytes_of(const Slot& slot) {
  std::size_t n = 0;
  if (slot.forward) n += slot.forward->activations.bytes.size() + slot.forward->tokens.size() * sizeof(std::int32_t);
  if (slot.backward) n += slot.backward->bytes.size();
  return n;
}

std::size_t EvidenceStore::bytes_of(const Entry& entry) {
  std::size_t n = entry.weights ? entry.weights->size() * sizeof(float) : 0;
  for (const auto& [micro_batch, slot] : entry.slots) n += bytes_of(slot);
  return n;
}

void EvidenceStore::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  pending_.clear();
  pending_step_.reset();
  bytes_ = 0;
  reports_.clear();
}

bool EvidenceStore::has_weights(std::uint64_t step) const {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(step);
  return found != entries_.end() && found->second.weights;
}

void EvidenceStore::keep_weights(std::uint64_t step, std::vector<float> parameters) {
  auto weights = std::make_shared<const std::vector<float>>(std::move(parameters));
  std::lock_guard lock(mutex_);
  auto& entry = entries_[step];
  bytes_ -= bytes_of(entry);
  entry.weights = weights;
  bytes_ += bytes_of(entry);
  reports_.emplace_back(step, std::move(weights));
  while (reports_.size() > kReportQueue) reports_.pop_front();
  evict();
}

void EvidenceStore::record_forward(std::uint64_t step, std::uint32_t micro_batch, const engine::ForwardMessage& input) {
  std::lock_guard lock(mutex_);
  if (pending_step_ != step) pending_.clear();
  pending_step_ = step;
  pending_[micro_batch].forward = input;
}

void EvidenceStore::record_backward(std::uint64_t step, std::uint32_t micro_batch, model::Payload gradient) {
  std::lock_guard lock(mutex_);
  if (pending_step_ != step) pending_.clear();
  pending_step_ = step;
  pending_[micro_batch].backward = std::move(gradient);
}

void EvidenceStore::drop_attempt() {
  std::lock_guard lock(mutex_);
  pending_.clear();
  pending_step_.reset();
}

void EvidenceStore::commit(std::uint64_t step) {
  std::lock_guard lock(mutex_);
  auto& entry = entries_[step];
  bytes_ -= bytes_of(entry);
  entry.committed = true;
  entry.committed_at = std::chrono::steady_clock::now();
  if (pending_step_ == step) entry.slots = std::move(pending_);
  else entry.slots.clear();
  pending_.clear();
  pending_step_.reset();
  bytes_ += bytes_of(entry);
  evict();
}

// The oldest entries go first while the bytes are over their limit, or while more than `steps`
// are committed and the oldest is older than `keep`; the newest (the step in progress) stays.
void EvidenceStore::evict() {
  std::size_t committed = 0;
  for (const auto& [step, entry] : entries_) committed += entry.committed ? 1 : 0;
  const auto cutoff = std::chrono::steady_clock::now() - limits_.keep;
  const auto stale = [&](const Entry& oldest) {
    return committed > limits_.steps && (!oldest.committed || oldest.committed_at < cutoff);
  };
  while (entries_.size() > 1 && (bytes_ > limits_.bytes || stale(entries_.begin()->second))) {
    const auto oldest = entries_.begin();
    committed -= oldest->second.committed ? 1 : 0;
    bytes_ -= bytes_of(oldest->second);
    entries_.erase(oldest);
  }
}

std::optional<net::CheckEvidence> EvidenceStore::find(std::uint64_t step, std::uint32_t micro_batch,
                                                      std::uint16_t stage) const {
  std::lock_guard lock(mutex_);
  const auto entry = entries_.find(step);
  if (entry == entries_.end() || !entry->second.committed || !entry->second.weights) return std::nullopt;
  const auto slot = entry->second.slots.find(micro_batch);
  if (slot == entry->second.slots.end() || !slot->second.forward) return std::nullopt;
  const auto& forward = *slot->second.forward;
  net::CheckEvidence out;
  out.step = step;
  out.micro_batch = micro_batch;
  out.stage = stage;
  out.parameters = *entry->second.weights;
  out.batch = forward.batch;
  out.sequence = forward.sequence;
  out.tokens = forward.tokens;
  if (!forward.activations.bytes.empty() || !forward.activations.shape.empty()) out.forward = forward.activations;
  out.backward = slot->second.backward;
  return out;
}

std::vector<WeightsReport> EvidenceStore::take_weight_reports() {
  std::deque<std::pair<std::uint64_t, std::shared_ptr<const std::vector<float>>>> taken;
  {
    std::lock_guard lock(mutex_);
    taken.swap(reports_);
  }
  std::vector<WeightsReport> out;
  for (const auto& [step, weights] : taken) out.push_back({step, protocol::weights_digest(*weights)});
  return out;
}

std::size_t EvidenceStore::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

std::size_t EvidenceStore::committed_steps() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [step, entry] : entries_) n += entry.committed ? 1 : 0;
  return n;
}

}  // namespace tessera::node::swarm

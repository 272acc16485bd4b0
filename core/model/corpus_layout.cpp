// Sequence layout over shards, the seeded training order, and per-shard attribution.
#include "core/model/corpus_layout.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include "core/model/splitmix.h"

namespace tessera::model {

CorpusLayout::CorpusLayout(std::vector<std::uint64_t> shard_bytes, int context)
    : shard_bytes_(std::move(shard_bytes)), context_(context) {
  if (context < 1) throw std::invalid_argument("context must be at least 1");
  if (shard_bytes_.empty()) throw std::invalid_argument("a corpus needs at least one shard");
  const auto window = static_cast<std::uint64_t>(context);
  shard_offset_.reserve(shard_bytes_.size());
  first_sequence_.reserve(shard_bytes_.size() + 1);
  std::uint64_t offset = 0, sequences = 0;
  first_sequence_.push_back(0);
  for (const auto bytes : shard_bytes_) {
    shard_offset_.push_back(offset);
    offset += bytes;
    // Windows start every `context` bytes so that every byte is a target once per epoch.
    sequences += bytes > window ? (bytes - 1) / window : 0;
    first_sequence_.push_back(sequences);
  }
  if (sequences == 0)
    throw std::invalid_argument("the corpus has " + std::to_string(offset) + " bytes and no shard of at least " +
                                std::to_string(window + 1) + " bytes, the length of one sequence");
  if (sequences > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("the corpus has " + std::to_string(sequences) + " sequences; at most 2^32 - 1");
}

std::uint64_t CorpusLayout::shard_sequences(std::size_t shard) const {
  return first_sequence_.at(shard + 1) - first_sequence_.at(shard);
}

std::size_t CorpusLayout::shard_of(std::uint64_t sequence) const {
  if (sequence >= sequences()) throw std::out_of_range("sequence " + std::to_string(sequence) + " is past the corpus");
  // The last shard whose first sequence is <= sequence (empty shards share their successor's).
  const auto it = std::upper_bound(first_sequence_.begin(), first_sequence_.end(), sequence);
  return static_cast<std::size_t>(it - first_sequence_.begin()) - 1;
}

std::uint64_t CorpusLayout::start_of(std::uint64_t sequence) const {
  const auto shard = shard_of(sequence);
  return shard_offset_[shard] + (sequence - first_sequence_[shard]) * static_cast<std::uint64_t>(context_);
}

SequenceOrder::SequenceOrder(std::uint64_t sequences, std::uint64_t seed) : sequences_(sequences), seed_(seed) {
  if (sequences == 0 || sequences > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("a training order needs 1 to 2^32 - 1 sequences");
}

std::uint64_t SequenceOrder::at(std::uint64_t position) const {
  const auto epoch = position / sequences_;
  if (epoch != cached_epoch_) {
    cached_permutation_.resize(sequences_);
    std::iota(cached_permutation_.begin(), cached_permutation_.end(), std::uint32_t{0});
    std::mt19937_64 rng(splitmix(seed_ ^ splitmix(epoch + 1)));
    std::shuffle(cached_permutation_.begin(), cached_permutation_.end(), rng);
    cached_epoch_ = epoch;
  }
  return cached_permutation_[position % sequences_];
}

std::uint64_t stream_position(std::int64_t step, int micro, int micro_batches, int batch, int row) {
  if (step < 0 || micro < 0 || micro_batches < 1 || batch < 1 || row < 0)
    throw std::invalid_argument("a stream position needs step, micro and row >= 0 and micro_batches, batch >= 1");
  return (static_cast<std::uint64_t>(step) * static_cast<std::uint64_t>(micro_batches) + static_cast<std::uint64_t>(micro)) *
             static_cast<std::uint64_t>(batch) +
         static_cast<std::uint64_t>(row);
}

ShardAttribution::ShardAttribution(std::vector<std::uint64_t> shard_bytes, int context, std::uint64_t seed)
    : layout_(std::move(shard_bytes), context), order_(layout_.sequences(), seed) {}

std::vector<std::uint64_t> ShardAttribution::step_tokens(std::int64_t step, int micro_batches, int batch) const {
  std::vector<std::uint64_t> tokens(layout_.shards(), 0);
  const auto first = stream_position(step, 0, micro_batches, batch, 0);
  const auto rows = static_cast<std::uint64_t>(micro_batches) * static_cast<std::uint64_t>(batch);
  for (std::uint64_t p = first; p < first + rows; ++p)
    tokens[layout_.shard_of(order_.at(p))] += static_cast<std::uint64_t>(layout_.context());
  return tokens;
}

std::vector<std::uint64_t> shard_step_tokens(const std::vector<std::uint64_t>& shard_bytes, int context,
                                             std::uint64_t seed, std::int64_t step, int micro_batches, int batch) {
  return ShardAttribution(shard_bytes, context, seed).step_tokens(step, micro_batches, batch);
}

}  // namespace tessera::model

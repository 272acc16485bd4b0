// Where the training sequences come from and in which order they are trained, computed from the
// shards' byte sizes alone (no bytes), so the driver's DataSource and the hub's data credit share
// one implementation. A corpus is shards in manifest order; each shard is cut into its own
// windows of context + 1 bytes starting every `context` bytes (no window crosses a shard), the
// windows numbered shard by shard; the training stream visits them epoch by epoch in a seeded
// shuffle. Plain C++, no libtorch.
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::model {

class CorpusLayout {
 public:
  // A shard shorter than context + 1 bytes holds no sequence. Throws when no shard holds one.
  CorpusLayout(std::vector<std::uint64_t> shard_bytes, int context);

  int context() const { return context_; }
  std::size_t shards() const { return shard_bytes_.size(); }
  std::uint64_t sequences() const { return first_sequence_.back(); }
  std::uint64_t shard_sequences(std::size_t shard) const;
  // The shard that sequence `sequence` (0 <= sequence < sequences()) lies in.
  std::size_t shard_of(std::uint64_t sequence) const;
  // Its first byte, as an offset into the shards' bytes concatenated in order.
  std::uint64_t start_of(std::uint64_t sequence) const;

 private:
  std::vector<std::uint64_t> shard_bytes_;
  std::vector<std::uint64_t> shard_offset_;    // first byte of each shard in the concatenation
  std::vector<std::uint64_t> first_sequence_;  // shards() + 1 entries: shard i holds [i], [i + 1])
  int context_;
};

// The order of the training stream: position p is sequence at(p). Epoch e = p / sequences is a
// seeded shuffle of all sequences; the last epoch's shuffle is cached (not thread-safe: one
// instance per thread).
class SequenceOrder {
 public:
  SequenceOrder(std::uint64_t sequences, std::uint64_t seed);
  std::uint64_t at(std::uint64_t position) const;

 private:
  std::uint64_t sequences_;
  std::uint64_t seed_;
  mutable std::uint64_t cached_epoch_ = ~0ULL;
  mutable std::vector<std::uint32_t> cached_permutation_;
};

// The stream position of row `row` of micro-batch `micro` of step `step`.
std::uint64_t stream_position(std::int64_t step, int micro, int micro_batches, int batch, int row);

// Trained tokens per shard (index = manifest order) in step `step`: every sequence of its
// micro_batches x batch rows counts `context` tokens (its predicted positions), to the shard it
// was cut from. Exactly the rows DataSource::micro_batch returns for that step.
class ShardAttribution {
 public:
  ShardAttribution(std::vector<std::uint64_t> shard_bytes, int context, std::uint64_t seed);
  std::vector<std::uint64_t> step_tokens(std::int64_t step, int micro_batches, int batch) const;
  const CorpusLayout& layout() const { return layout_; }

 private:
  CorpusLayout layout_;
  SequenceOrder order_;
};

// The same as a pure function (builds the layout and the epoch's shuffle on every call; keep a
// ShardAttribution to attribute many steps).
std::vector<std::uint64_t> shard_step_tokens(const std::vector<std::uint64_t>& shard_bytes, int context,
                                             std::uint64_t seed, std::int64_t step, int micro_batches, int batch);

}  // namespace tessera::model

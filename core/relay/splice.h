// Byte splicing between two sockets, the relay's data path: whatever arrives on one side is
// written, unchanged, to the other (CurveZMQ ciphertext, which the relay cannot read), with a
// half-close passed on, until both directions have ended, one side fails, or the stop fd fires.
// Counts what it wrote each way, for crediting.
#pragma once

#include <atomic>
#include <cstdint>

namespace tessera::relay {

struct RelayedBytes {
  std::uint64_t to_client = 0;    // peer → relayed node
  std::uint64_t from_client = 0;  // relayed node → peer
  std::uint64_t streams = 0;      // peer connections spliced
  bool operator==(const RelayedBytes&) const = default;
};

// Shared by the splice threads of one client: read at any time, written as bytes go through.
struct ByteCounters {
  std::atomic<std::uint64_t> to_client{0};
  std::atomic<std::uint64_t> from_client{0};
  std::atomic<std::uint64_t> streams{0};
  RelayedBytes snapshot() const { return {to_client.load(), from_client.load(), streams.load()}; }
};

// Copies a → b and b → a on non-blocking sockets; `a_to_b` and `b_to_a` grow by what was written.
// Returns when both directions ended, on an error, or when `stop_fd` is readable; the caller
// closes the sockets. Blocks in poll() only: an idle stream costs nothing.
void splice(int a, int b, int stop_fd, std::atomic<std::uint64_t>& a_to_b, std::atomic<std::uint64_t>& b_to_a);

}  // namespace tessera::relay

// What the relay's poll thread keeps per connection: a connection that has not yet said who it is
// (Handshake), a registered node (ClientSession: its control connection and public port), a peer
// waiting for its node to claim it (WaitingStream), and a running splice (SpliceThread).
// Owned by RelayServer::Impl and touched only by its poll thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "core/relay/control_frame.h"
#include "core/relay/splice.h"
#include "core/sys/unique_fd.h"

namespace tessera::relay {

struct Handshake {
  sys::UniqueFd fd{-1};
  Challenge challenge{};
  FrameReader reader{};
  Clock::time_point deadline{};
};

struct ClientSession {
  wallet::PublicKey key{};
  sys::UniqueFd control{-1};
  sys::UniqueFd listener{-1};  // the node's public port
  std::uint16_t public_port = 0;
  FrameReader reader{};
  Clock::time_point last_received{};
  Clock::time_point last_sent{};
  std::shared_ptr<ByteCounters> counters{};
  std::shared_ptr<std::atomic<std::size_t>> active_streams{};  // spliced now
};

struct WaitingStream {
  wallet::PublicKey key{};
  sys::UniqueFd peer{-1};
  Clock::time_point deadline{};
};

struct SpliceThread {
  std::thread thread{};
  std::shared_ptr<std::atomic<bool>> done{};
};

}  // namespace tessera::relay

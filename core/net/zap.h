// The ZAP handler: ZeroMQ asks it about every CURVE handshake on the context, and it admits only
// peers whose key is on the allowlist (the hub's peer directory for the run). Anyone else is
// refused during the handshake, before a single message of theirs is read.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "core/net/curve.h"

namespace zmq {
class context_t;
class socket_t;
}

namespace tessera::net {

class PeerAllowlist {
 public:
  void allow(const CurvePublicKey& key);
  void revoke(const CurvePublicKey& key);
  void replace(std::set<CurvePublicKey> keys);
  bool contains(const CurvePublicKey& key) const;

 private:
  mutable std::mutex mutex_;
  std::set<CurvePublicKey> keys_;
};

class ZapHandler {
 public:
  // Binds inproc://zeromq.zap.01 on `context` (one handler per context) and serves until destroyed.
  ZapHandler(zmq::context_t& context, std::shared_ptr<const PeerAllowlist> allowlist);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  std::uint64_t admitted() const { return admitted_; }
  std::uint64_t refused() const { return refused_; }

 private:
  void serve();

  std::shared_ptr<const PeerAllowlist> allowlist_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> admitted_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::thread thread_;
};

}  // namespace tessera::net
